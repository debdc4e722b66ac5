import { describe, it, expect } from 'vitest'
import { TokenBucket, type BucketClock } from '../../src/node/token-bucket.ts'
import { TrafficLimits } from '../../src/node/traffic-limits.ts'
import { limitSettings } from '../../src/config/limits-config.ts'
import { checkByteRate, formatByteRate, parseByteRate } from '../../src/config/byte-rate.ts'
import { checkConfig } from '../../src/config/check-config.ts'

const KiB = 1024
const MiB = 1024 * KiB

/** a clock that moves only when told; timers fire in order as it passes them */
class ManualClock implements BucketClock {
  private t = 0
  private timers: Array<{ at: number, fn: () => void }> = []
  now = (): number => this.t
  after = (ms: number, fn: () => void): (() => void) => {
    const timer = { at: this.t + ms, fn }
    this.timers.push(timer)
    return () => { this.timers = this.timers.filter(x => x !== timer) }
  }

  /** moves time forward `ms`, firing due timers (and letting resolved takers run) */
  async advance (ms: number): Promise<void> {
    const end = this.t + ms
    while (true) {
      this.timers.sort((a, b) => a.at - b.at)
      const next = this.timers[0]
      if (next === undefined || next.at > end) break
      this.timers.shift()
      this.t = next.at
      next.fn()
      await settle()
    }
    this.t = end
    await settle()
  }
}

const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }

/** starts takes in order and records when (clock time) each one passed */
function taker (bucket: TokenBucket, clock: ManualClock): { take: (bytes: number, signal?: AbortSignal) => Promise<void>, passed: number[] } {
  const passed: number[] = []
  return {
    passed,
    take: async (bytes, signal) => { await bucket.take(bytes, signal); passed.push(clock.now()) }
  }
}

describe('token bucket', () => {
  it('passes a burst of one second at once, then paces at the rate', async () => {
    const clock = new ManualClock()
    const bucket = new TokenBucket({ bytesPerSecond: MiB, minBurstBytes: 256 * KiB, clock })
    const t = taker(bucket, clock)
    // 1 MiB burst, then 3 MiB more at 1 MiB/s
    const all = Promise.all(Array.from({ length: 16 }, async () => await t.take(256 * KiB)))
    await settle()
    expect(t.passed).toEqual([0, 0, 0, 0])
    await clock.advance(10_000)
    await all
    expect(t.passed).toHaveLength(16)
    // each further 256 KiB needs a quarter of a second
    expect(t.passed.slice(4)).toEqual([250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2250, 2500, 2750, 3000])
  })

  it('holds at least one block whatever the rate, and lets a take bigger than the burst pass when full', async () => {
    const clock = new ManualClock()
    const bucket = new TokenBucket({ bytesPerSecond: 100 * KiB, minBurstBytes: MiB, clock })
    expect(bucket.burst()).toBe(MiB)
    const t = taker(bucket, clock)
    void t.take(MiB)
    void t.take(2 * MiB) // more than the bucket ever holds: waits until it is full again (10.24 s)
    await settle()
    expect(t.passed).toEqual([0])
    await clock.advance(10_239)
    expect(t.passed).toEqual([0])
    await clock.advance(1)
    expect(t.passed).toEqual([0, 10_240])
  })

  it('serves takers first come, first served: a big take is not starved by small ones', async () => {
    const clock = new ManualClock()
    const bucket = new TokenBucket({ bytesPerSecond: 100 * KiB, minBurstBytes: 100 * KiB, clock })
    await bucket.take(100 * KiB) // empty now
    const order: string[] = []
    void bucket.take(100 * KiB).then(() => order.push('big'))
    void bucket.take(KiB).then(() => order.push('small'))
    await clock.advance(999)
    expect(order).toEqual([])
    await clock.advance(1)
    expect(order).toEqual(['big'])
    await clock.advance(10)
    expect(order).toEqual(['big', 'small'])
  })

  it('a new rate applies to waiters at once, unlimited lets them all pass', async () => {
    const clock = new ManualClock()
    const bucket = new TokenBucket({ bytesPerSecond: 100 * KiB, minBurstBytes: 100 * KiB, clock })
    await bucket.take(100 * KiB)
    const t = taker(bucket, clock)
    void t.take(100 * KiB)
    await clock.advance(500) // half refilled at 100 KiB/s
    bucket.setRate(1000 * KiB) // the other half takes 50 ms now
    await clock.advance(49)
    expect(t.passed).toEqual([])
    await clock.advance(1)
    expect(t.passed).toEqual([550])
    void t.take(MiB)
    void t.take(MiB)
    await settle()
    expect(t.passed).toHaveLength(1)
    bucket.setRate(undefined)
    await settle()
    expect(t.passed).toEqual([550, 550, 550])
  })

  it('an aborted take leaves the queue and takes nothing', async () => {
    const clock = new ManualClock()
    const bucket = new TokenBucket({ bytesPerSecond: 100 * KiB, minBurstBytes: 100 * KiB, clock })
    await bucket.take(100 * KiB)
    const ac = new AbortController()
    const t = taker(bucket, clock)
    const aborted = t.take(100 * KiB, ac.signal)
    void t.take(50 * KiB)
    ac.abort(new Error('gone'))
    await expect(aborted).rejects.toThrow('gone')
    await clock.advance(500)
    expect(t.passed).toEqual([500])
  })
})

describe('traffic limits', () => {
  const peers = { lan: 'peer-on-lan', far: 'peer-far', slow: 'peer-slow' }
  const config = (exemptLan?: boolean): Parameters<typeof limitSettings>[0] => ({
    version: 1,
    folders: {},
    devices: { [peers.slow]: { addrs: [], limits: { uploadBytesPerSecond: 100 * KiB } } },
    limits: { uploadBytesPerSecond: 1000 * KiB, ...(exemptLan === undefined ? {} : { exemptLan }) }
  })

  it('a device limit applies to that device only; the daemon-wide one to all; LAN peers pass unless exemptLan is false', async () => {
    const clock = new ManualClock()
    const limits = new TrafficLimits({ settings: limitSettings(config()), isLan: p => p === peers.lan, minBurstBytes: 100 * KiB, clock })
    const passed: string[] = []
    const send = (peer: string): void => { void limits.pace('upload', peer, 100 * KiB).then(() => passed.push(peer)) }
    // drain: the shared bucket (1000 KiB) and the slow device's (100 KiB)
    for (let i = 0; i < 9; i++) send(peers.far)
    send(peers.slow)
    await settle()
    expect(passed).toHaveLength(10)
    passed.length = 0
    send(peers.lan) // exempt: at once
    send(peers.slow) // its own bucket: 1 s
    send(peers.far) // the shared bucket: 100 ms
    await settle()
    expect(passed).toEqual([peers.lan])
    await clock.advance(100)
    expect(passed).toEqual([peers.lan, peers.far])
    await clock.advance(899)
    expect(passed).toEqual([peers.lan, peers.far])
    await clock.advance(1)
    // the slow device's own bucket allowed it after 1 s (the shared one had refilled meanwhile)
    expect(passed).toEqual([peers.lan, peers.far, peers.slow])
    // reload: LAN no longer exempt; the shared bucket holds 800 KiB now
    limits.update(limitSettings(config(false)))
    passed.length = 0
    for (let i = 0; i < 9; i++) send(peers.lan)
    await settle()
    expect(passed).toHaveLength(8)
    await clock.advance(100)
    expect(passed).toHaveLength(9)
    expect(limits.status()).toMatchObject({ uploadBytesPerSecond: 1000 * KiB, exemptLan: false, devices: { [peers.slow]: { uploadBytesPerSecond: 100 * KiB } } })
  })

  it('start flags override the config totals', () => {
    expect(limitSettings(config(), { uploadBytesPerSecond: 5 * MiB, downloadBytesPerSecond: 2 * MiB })).toMatchObject({ uploadBytesPerSecond: 5 * MiB, downloadBytesPerSecond: 2 * MiB, exemptLan: true })
  })
})

describe('rates', () => {
  it('parses binary and decimal units and plain bytes', () => {
    expect(parseByteRate('10MiB')).toBe(10 * MiB)
    expect(parseByteRate('512KiB')).toBe(512 * KiB)
    expect(parseByteRate('1MB')).toBe(1_000_000)
    expect(parseByteRate('1.5mib/s')).toBe(1.5 * MiB)
    expect(parseByteRate('250000')).toBe(250_000)
    expect(formatByteRate(4 * MiB)).toBe('4 MiB/s')
    expect(formatByteRate(undefined)).toBe('unlimited')
  })

  it('refuses anything else in one line', () => {
    for (const bad of ['foo', '', '10 parsecs', '-1MiB', '1e9', '10MiBs']) {
      expect(() => parseByteRate(bad, '--max-upload')).toThrow(/^--max-upload takes bytes per second like 10MiB/)
    }
    expect(() => parseByteRate('1KiB', '--max-upload')).toThrow(/at least 64 KiB\/s/)
    expect(() => checkByteRate(1.5 * MiB + 0.5)).toThrow()
  })

  it('config: a bad limit is left out and named; the rest is kept', () => {
    const { config, skipped } = checkConfig({ version: 1, devices: {}, folders: {}, limits: { uploadBytesPerSecond: 'fast', downloadBytesPerSecond: 2 * MiB, exemptLan: 'yes' } }, 'config.json')
    expect(config.limits).toEqual({ downloadBytesPerSecond: 2 * MiB })
    expect(skipped).toHaveLength(2)
  })
})
