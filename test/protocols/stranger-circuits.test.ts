import { describe, it, expect, afterEach } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { createNode, type FerryNode } from '../../src/node/create-node.ts'
import { RelayLimits } from '../../relay/relay-limits.ts'
import { limitRelayed } from '../../relay/relay-limit-guard.ts'
import { DEFAULT_STRANGER_CIRCUIT_BYTES } from '../../relay/stranger-circuits.ts'
import { waitFor } from '../helpers/ferry-process.ts'
import { rejection } from '../helpers/async-checks.ts'

const SINK = '/ferry-test/sink/1'
const KIB = 1024

/**
 * Real libp2p nodes as ferry makes them: a relay that trusts device `a` only, and a stranger let
 * through to `a` while `a`'s join window is open.
 */
describe('a stranger\'s circuit through the relay', () => {
  const nodes: FerryNode[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('reaches only the device with an open window, and carries at most the stranger limit', async () => {
    const node = async (opts: Partial<Parameters<typeof createNode>[0]>): Promise<FerryNode> => {
      const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], isTrusted: () => true, mdns: false, abortOnPingFailure: false, ...opts })
      nodes.push(n)
      return n
    }
    const aKey = await generateKeyPair('Ed25519')
    const cKey = await generateKeyPair('Ed25519')
    const members = new Set([peerIdFromPrivateKey(aKey).toString(), peerIdFromPrivateKey(cKey).toString()])
    let open = true
    const isTrusted = (id: string): boolean => members.has(id)
    const relay = await node({
      isTrusted,
      admitsStrangers: () => open,
      relayStrangersTo: d => open && d === peerIdFromPrivateKey(aKey).toString(),
      relayServer: true,
      wrapRelayServer: s => limitRelayed(s, new RelayLimits(), isTrusted)
    })
    const a = await node({ privateKey: aKey, circuitListen: true, listen: [] })
    const c = await node({ privateKey: cKey, circuitListen: true, listen: [] })
    const stranger = await node({ listen: [] })
    let received = 0
    await a.handle(SINK, (stream: Stream) => { stream.addEventListener('message', e => { received += e.data.byteLength }) }, { runOnLimitedConnection: true })
    for (const d of [a, c]) await d.dial(relay.getMultiaddrs()[0]!)
    await waitFor('a and c hold reservations', () => [a, c].every(d => d.getMultiaddrs().some(m => m.toString().includes('/p2p-circuit'))), 30_000)
    const via = (d: FerryNode): ReturnType<typeof multiaddr> => multiaddr(`${relay.getMultiaddrs()[0]!.toString()}/p2p-circuit/p2p/${d.peerId.toString()}`)

    // not to c (no window of its own)
    expect((await rejection(stranger.dial(via(c), { signal: AbortSignal.timeout(10_000) }))).message).toMatch(/PERMISSION_DENIED/)
    // to a: the first 128 KiB pass, then the circuit is reset
    const stream = await stranger.dialProtocol(via(a), SINK, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    const chunk = new Uint8Array(16 * KIB).fill(7)
    const sent = await (async () => {
      try {
        for (let i = 0; i < 64; i++) if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(30_000) })
        await stream.close()
      } catch (err) { return err }
    })()
    await waitFor('the circuit is gone', () => stranger.getConnections(a.peerId).every(conn => conn.status !== 'open'), 30_000)
    expect(sent !== undefined || received < 64 * 16 * KIB).toBe(true)
    expect(received).toBeGreaterThan(0)
    expect(received).toBeLessThanOrEqual(DEFAULT_STRANGER_CIRCUIT_BYTES)

    // once the window closes, the stranger is refused a new circuit (on the connection it still
    // has, the hop stream is reset before the circuit server sees it)
    open = false
    await rejection(stranger.dial(via(a), { signal: AbortSignal.timeout(10_000) }))
    expect(stranger.getConnections(a.peerId).filter(conn => conn.status === 'open')).toHaveLength(0)
  })
})
