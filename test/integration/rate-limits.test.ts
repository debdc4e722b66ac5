import { describe, it, expect, afterEach } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { scrape } from '../helpers/prometheus-text.ts'
import { join } from 'node:path'
import { Lab, ferry, ferryOk, status, waitConverged, waitFor, writeRandomFile, type Device } from '../helpers/ferry-process.ts'
import { relayStatus, useRelay, useRelayLabs, waitUploaded } from '../helpers/relay-process.ts'

const MiB = 1024 * 1024
const SIZE_MIB = 28
const LIMIT = 4 * MiB
/** the measured rate may be this far from the limit */
const TOLERANCE = 0.1

/** config.json edits the CLI has no command for (`limits.exemptLan`) */
async function editConfig (d: Device, change: (config: Record<string, any>) => void): Promise<void> {
  const file = join(d.home, 'config.json')
  const config = JSON.parse(await readFile(file, 'utf8'))
  change(config)
  await writeFile(file, JSON.stringify(config, null, 2))
}

/** tests run on loopback, which is LAN: limit it too */
const limitLan = async (d: Device): Promise<void> => { await editConfig(d, c => { c.limits = { ...c.limits, exemptLan: false } }) }

interface Sample { ms: number, bytes: number, downloadRate: number, downloadLimit?: number }

/**
 * Polls `to`'s status every 50 ms until it has received `total` block bytes from `from`, and
 * returns the samples (time, block bytes received so far, `to`'s current download rate).
 */
async function watchTransfer (to: Device, from: Device, total: number, onSample?: (s: Sample) => Promise<void>, timeoutMs = 180_000): Promise<Sample[]> {
  const samples: Sample[] = []
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    const s = await status(to)
    const sample: Sample = { ms: performance.now(), bytes: s.receivedBytes[from.id] ?? 0, downloadRate: s.limits?.downloadRate ?? 0, ...(s.limits?.downloadBytesPerSecond === undefined ? {} : { downloadLimit: s.limits.downloadBytesPerSecond }) }
    samples.push(sample)
    await onSample?.(sample)
    if (sample.bytes >= total) return samples
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`${to.name} got ${samples.at(-1)?.bytes ?? 0} of ${total} bytes from ${from.name} in ${timeoutMs} ms`)
}

interface Measured {
  /**
   * what the test asserts: bytes/s with the burst left out, (total - burst) / (time from the
   * first sample with any bytes to the first with all). The buckets start full (one second of
   * the rate), so the first `limit` bytes pass at once; after that, at most the limit passes.
   */
  paced: number
  /** bytes/s from the first sample past burst + 1 MiB to the first with everything (reported only: a stall of the receiver refills the bucket, and the burst after it lands in this window) */
  steady: number
  /** bytes/s over the whole transfer, first sample with any bytes to the last */
  whole: number
  /** what `whole` would be at exactly the limit: the first second's burst is free */
  wholeExpected: number
  seconds: number
}

/**
 * The rates a transfer ran at. The buckets start full (one second of the rate), so the first
 * `limit` bytes pass at once; the steady rate leaves them (and one MiB more) out.
 */
function measure (samples: Sample[], total: number, limit: number): Measured {
  const first = samples.find(s => s.bytes > 0)!
  const start = samples.find(s => s.bytes >= limit + MiB)!
  const end = samples.find(s => s.bytes >= total)!
  return {
    paced: (total - limit) / ((end.ms - first.ms) / 1000),
    steady: (end.bytes - start.bytes) / ((end.ms - start.ms) / 1000),
    whole: total / ((end.ms - first.ms) / 1000),
    wholeExpected: total / ((total - limit) / limit),
    seconds: (end.ms - first.ms) / 1000
  }
}

const mib = (bytesPerSecond: number): string => `${(bytesPerSecond / MiB).toFixed(2)} MiB/s`

function report (what: string, m: Measured): void {
  console.log(`${what}: paced ${mib(m.paced)} (burst left out), after the burst ${mib(m.steady)}, whole transfer ${mib(m.whole)} over ${m.seconds.toFixed(2)} s (at exactly the limit, burst included: ${mib(m.wholeExpected)})`)
}

describe('rate limits on block traffic', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  /**
   * a and b share `docs`; a holds a SIZE_MIB random file (random: compression changes nothing),
   * scanned before b starts. `configure` runs on the configs before either daemon starts.
   */
  async function pairWithFile (o: { configure?: (a: Device, b: Device) => Promise<void>, aArgs?: string[] } = {}): Promise<{ a: Device, b: Device }> {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await o.configure?.(a, b)
    await writeRandomFile(join(a.folder, 'big.bin'), SIZE_MIB)
    await lab.start(a, { args: o.aArgs ?? [] })
    await waitFor('a has scanned', async () => (await status(a)).folders[0]!.localBytes === SIZE_MIB * MiB, 60_000)
    await lab.start(b)
    return { a, b }
  }

  it("b's download limit: b fetches at the limit (within 10%), and status shows it", async () => {
    const { a, b } = await pairWithFile({
      configure: async (_a, b) => {
        await limitLan(b)
        expect(await ferryOk(['--home', b.home, 'limits', 'set', '--download', '4MiB'])).toContain('download 4 MiB/s')
      }
    })
    const total = SIZE_MIB * MiB
    const samples = await watchTransfer(b, a, total)
    const m = measure(samples, total, LIMIT)
    report("b's download limit 4 MiB/s", m)
    expect(Math.abs(m.paced - LIMIT) / LIMIT).toBeLessThan(TOLERANCE)
    // the rate status shows (an average over 3 s) was near the limit at some point, never far above
    const rates = samples.map(s => s.downloadRate)
    expect(Math.max(...rates)).toBeGreaterThan(LIMIT * 0.8)
    expect(Math.max(...rates)).toBeLessThan(LIMIT * 1.5)
    const json = JSON.parse(await ferryOk(['--home', b.home, 'status', '--json']))
    expect(json.limits).toMatchObject({ downloadBytesPerSecond: LIMIT, exemptLan: false })
    expect(json.limits.uploadBytesPerSecond).toBeUndefined()
    const api = JSON.parse(await readFile(join(b.home, 'api.json'), 'utf8')) as { port: number, token: string }
    const metrics = (await scrape(`http://127.0.0.1:${api.port}/metrics`, { authorization: `Bearer ${api.token}` })).scrape!
    expect(metrics.value('ferry_block_rate_limit_bytes_per_second', { direction: 'download' })).toBe(LIMIT)
    expect(metrics.value('ferry_block_rate_limit_bytes_per_second', { direction: 'upload' })).toBe(0)
    expect(metrics.value('ferry_block_rate_bytes_per_second', { direction: 'download' })).toBeGreaterThanOrEqual(0)
    await waitConverged([a, b], 120_000)
  })

  it("a's upload limit: a serves at the limit (within 10%)", async () => {
    const { a, b } = await pairWithFile({
      configure: async a => {
        await limitLan(a)
        await ferryOk(['--home', a.home, 'limits', 'set', '--upload', '4MiB'])
      }
    })
    const total = SIZE_MIB * MiB
    const m = measure(await watchTransfer(b, a, total), total, LIMIT)
    report("a's upload limit 4 MiB/s", m)
    expect(Math.abs(m.paced - LIMIT) / LIMIT).toBeLessThan(TOLERANCE)
    expect((await status(a)).limits).toMatchObject({ uploadBytesPerSecond: LIMIT })
    await waitConverged([a, b], 120_000)
  })

  it('a limit on one device applies to that device only', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    const c = await lab.device('c')
    // b and c know only a: each fetches from a alone
    await lab.pair(a, b)
    await lab.pair(a, c)
    await limitLan(a)
    expect(await ferryOk(['--home', a.home, 'limits', 'set', '--device', 'b', '--upload', '4MiB'])).toContain(`device ${b.id}: upload 4 MiB/s`)
    const shown = JSON.parse(await ferryOk(['--home', a.home, 'limits', 'show', '--json']))
    expect(shown.devices[b.id]).toMatchObject({ name: 'b', uploadBytesPerSecond: LIMIT })
    expect(shown.limits).toEqual({ exemptLan: false })
    await writeRandomFile(join(a.folder, 'big.bin'), SIZE_MIB)
    await lab.start(a)
    await waitFor('a has scanned', async () => (await status(a)).folders[0]!.localBytes === SIZE_MIB * MiB, 60_000)
    await Promise.all([lab.start(b), lab.start(c)])
    const total = SIZE_MIB * MiB
    const [toB, toC] = await Promise.all([watchTransfer(b, a, total), watchTransfer(c, a, total)])
    const mb = measure(toB, total, LIMIT)
    const mc = measure(toC, total, LIMIT)
    report('a -> b, limited to 4 MiB/s', mb)
    report('a -> c, unlimited', mc)
    expect(Math.abs(mb.paced - LIMIT) / LIMIT).toBeLessThan(TOLERANCE)
    // c, at the same time, well above b's limit
    expect(mc.whole).toBeGreaterThan(2 * LIMIT)
    await waitConverged([a, b, c], 120_000)
  })

  it('LAN peers are exempt by default: a loopback transfer runs far above a --max-upload', async () => {
    const slow = MiB
    const { a, b } = await pairWithFile({ aArgs: ['--max-upload', '1MiB'] })
    expect((await status(a)).limits).toMatchObject({ uploadBytesPerSecond: slow, exemptLan: true })
    const total = SIZE_MIB * MiB
    const m = measure(await watchTransfer(b, a, total), total, slow)
    report('loopback, exempt, --max-upload 1MiB', m)
    // limited, it would take 27 s
    expect(m.whole).toBeGreaterThan(3 * slow)
    await waitConverged([a, b], 120_000)
  })

  it('a new limit applies on reload, without restart', async () => {
    const slow = 2 * MiB
    const { a, b } = await pairWithFile({
      configure: async (_a, b) => {
        await limitLan(b)
        await ferryOk(['--home', b.home, 'limits', 'set', '--download', '2MiB'])
      }
    })
    const total = SIZE_MIB * MiB
    /**
     * the sample that set the command off (it reloads the running daemon; on a loaded machine it
     * may return only once most of the file is through)
     */
    let liftFrom: Sample | undefined
    let lifting: Promise<string> | undefined
    const samples = await watchTransfer(b, a, total, async s => {
      if (liftFrom !== undefined) return
      expect(s.downloadLimit).toBe(slow)
      if (s.bytes < 5 * MiB) return
      liftFrom = s
      lifting = ferryOk(['--home', b.home, 'limits', 'set', '--download', 'unlimited'])
      lifting.catch(() => {})
    })
    expect(await lifting).not.toContain('no daemon')
    const end = samples.at(-1)!
    const first = samples.find(s => s.bytes > 0)!
    const left = total - liftFrom!.bytes
    const took = (end.ms - liftFrom!.ms) / 1000
    console.log(`reload: ${(liftFrom!.bytes / MiB).toFixed(1)} MiB in ${((liftFrom!.ms - first.ms) / 1000).toFixed(2)} s before, the other ${(left / MiB).toFixed(1)} MiB in ${took.toFixed(2)} s from the command (${(left / slow).toFixed(1)} s at the old limit)`)
    // limited before: at most the burst (plus a second's slack for when the first sample was taken) and the rate
    expect(liftFrom!.bytes).toBeLessThanOrEqual(2 * slow + slow * (1 + TOLERANCE) * (liftFrom!.ms - first.ms) / 1000)
    // lifted: the rest took well under half of what the old limit allowed it (the command's own
    // start and reload included)
    expect(left).toBeGreaterThan(16 * MiB)
    expect(took).toBeLessThan(left / slow / 2)
    expect((await status(b)).limits?.downloadBytesPerSecond).toBeUndefined()
    await waitConverged([a, b], 120_000)
  })

  it('a bad rate is a one-line error and a non-zero exit', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const r = await ferry(['--home', a.home, 'start', '--max-upload', 'foo'])
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('--max-upload takes bytes per second like 10MiB')
    const set = await ferry(['--home', a.home, 'limits', 'set', '--download', '12 parsecs'])
    expect(set.code).not.toBe(0)
    expect(set.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe('rate limits on uploads to a relay', () => {
  const env = useRelayLabs()

  it("a's upload limit paces what it uploads to its relay (within 10%)", async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    await useRelay(a, r)
    await limitLan(a)
    await ferryOk(['--home', a.home, 'limits', 'set', '--upload', '4MiB'])
    await writeRandomFile(join(a.folder, 'big.bin'), SIZE_MIB)
    await lab.start(a)
    const total = SIZE_MIB * MiB
    // block bytes the relay received, polled like a peer's received bytes (its acknowledgements
    // come in batches, after its writes: too coarse to time)
    const samples: Sample[] = []
    await waitFor('the relay has every block', async () => {
      const got = (await relayStatus(r)).receivedBlockBytes
      samples.push({ ms: performance.now(), bytes: got, downloadRate: 0 })
      return got >= total
    }, 180_000)
    const m = measure(samples, total, LIMIT)
    report("a's upload limit 4 MiB/s, to a relay", m)
    expect(Math.abs(m.paced - LIMIT) / LIMIT).toBeLessThan(TOLERANCE)
    await waitUploaded(a)
  })
})
