import { describe, it, expect, afterEach } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import type { Stream } from '@libp2p/interface'
import { createNode, DEFAULT_MAX_STREAM_WINDOW_BYTES, type FerryNode } from '../../src/node/create-node.ts'
import { RelayLimits, parseByteSize } from '../../relay/relay-limits.ts'
import { limitRelayed } from '../../relay/relay-limit-guard.ts'
import { dialViaRelays } from '../../src/replica/relayed-dial.ts'
import { waitFor } from '../helpers/ferry-process.ts'

const SINK = '/ferry-test/sink/1'
const KIB = 1024

/**
 * Real libp2p nodes as ferry makes them: a relay whose circuit-relay server is limited per
 * member, two devices that reach each other only through it.
 */
describe('relayed data within limits', () => {
  const nodes: FerryNode[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  async function setup (limits: RelayLimits): Promise<{ a: FerryNode, b: FerryNode, relay: FerryNode, received: () => number }> {
    const node = async (opts: Parameters<typeof createNode>[0] extends infer O ? Partial<O> : never): Promise<FerryNode> => {
      const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], isTrusted: () => true, mdns: false, ...opts })
      nodes.push(n)
      return n
    }
    const relay = await node({ relayServer: true, wrapRelayServer: s => limitRelayed(s, limits) })
    const a = await node({ circuitListen: true, listen: [] })
    const b = await node({ circuitListen: true, listen: [] })
    let received = 0
    await b.handle(SINK, (stream: Stream) => { stream.addEventListener('message', e => { received += e.data.byteLength }) }, { runOnLimitedConnection: true })
    await a.dial(relay.getMultiaddrs()[0]!)
    await b.dial(relay.getMultiaddrs()[0]!)
    await waitFor('b holds a reservation', () => b.getMultiaddrs().some(m => m.toString().includes('/p2p-circuit')), 30_000)
    return { a, b, relay, received: () => received }
  }

  async function send (a: FerryNode, b: FerryNode, relay: FerryNode, bytes: number): Promise<Error | undefined> {
    const addr = multiaddr(`${relay.getMultiaddrs()[0]!.toString()}/p2p-circuit/p2p/${b.peerId.toString()}`)
    const stream = await a.dialProtocol(addr, SINK, { runOnLimitedConnection: true })
    const chunk = new Uint8Array(16 * KIB).fill(7)
    try {
      for (let sent = 0; sent < bytes; sent += chunk.byteLength) {
        if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(60_000) })
      }
      await stream.close()
    } catch (err) { return err as Error }
    return undefined
  }

  it('a member past its daily bytes has its relayed connection ended, is refused new ones, and its device hears why', async () => {
    const limited: string[] = []
    const limits = new RelayLimits({ dailyBytes: 256 * KIB, rateBytesPerSecond: 64 * 1024 * KIB, onLimit: m => limited.push(m) })
    const { a, b, relay, received } = await setup(limits)
    const err = await send(a, b, relay, 4 * 1024 * KIB)
    await waitFor('the relay reported the limit', () => limited.length > 0, 30_000)
    expect(limited).toEqual([a.peerId.toString()])
    expect(limits.usage(a.peerId.toString())).toMatchObject({ limited: true })
    expect(limits.usage(a.peerId.toString()).bytesToday).toBeGreaterThan(256 * KIB)
    // the sender saw its stream fail, or the relayed connection closed under it
    await waitFor('the relayed connection is gone', () => a.getConnections(b.peerId).every(c => c.status !== 'open'), 30_000)
    expect(err !== undefined || received() < 4 * 1024 * KIB).toBe(true)
    expect(received()).toBeLessThan(1024 * KIB)
    // a new relayed dial is refused with the reason, and the device is told
    const refusedBy: string[] = []
    const connected = await dialViaRelays(a, b.peerId.toString(), { relays: [relay.peerId.toString()], log: logger('test:relay-limits'), onLimit: r => refusedBy.push(r) })
    expect(connected).toBe(false)
    expect(refusedBy).toEqual([relay.peerId.toString()])
    // the other member is not limited
    expect(limits.usage(b.peerId.toString()).limited).toBe(false)
  })

  it('relayed data flows at about the member\'s rate', async () => {
    const rate = 512 * KIB
    const limits = new RelayLimits({ dailyBytes: 1024 * 1024 * KIB, rateBytesPerSecond: rate })
    const { a, b, relay, received } = await setup(limits)
    const total = 8 * 1024 * KIB
    const started = Date.now()
    expect(await send(a, b, relay, total)).toBeUndefined()
    await waitFor('b received everything', () => received() >= total, 60_000)
    const seconds = (Date.now() - started) / 1000
    // a second's worth may pass at once (the bucket starts full), and a paused stream's sender
    // still fills one stream window (what the relay buffers); the rest at the rate at most
    const floor = (total - rate - DEFAULT_MAX_STREAM_WINDOW_BYTES) / rate
    console.log(`relayed ${total} bytes at a limit of ${rate} B/s in ${seconds.toFixed(2)} s (at least ${floor.toFixed(2)} s expected)`)
    // (0.5: on a loaded machine the far side's buffers also fill before the pause bites; seen
    // 5.6 s for this 7 s floor, and less under a load of 30 on 2 cores; unpaced, the 8 MiB pass
    // in well under a second, so this still tells paced from unpaced)
    expect(seconds).toBeGreaterThanOrEqual(floor * 0.5)
    expect(limits.usage(a.peerId.toString()).bytesToday).toBeGreaterThanOrEqual(total)
  })

  it('parses sizes and rates', () => {
    expect(parseByteSize('--relay-daily', '10GiB')).toBe(10 * 1024 ** 3)
    expect(parseByteSize('--relay-rate', '8MiB/s', { rate: true })).toBe(8 * 1024 ** 2)
    expect(parseByteSize('--relay-rate', '500kB', { rate: true })).toBe(500_000)
    expect(parseByteSize('--relay-daily', '1048576')).toBe(1048576)
    for (const bad of ['', '0', 'x', '5 parsecs', '-1', '8MiB/s']) expect(() => parseByteSize('--relay-daily', bad)).toThrow(/--relay-daily takes a size/)
  })
})
