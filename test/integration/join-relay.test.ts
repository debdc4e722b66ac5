import { describe, it, expect, afterEach } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { FERRY_NODE_FLAGS } from '../../src/cli/node-flags.ts'
import { REPO, ferry, ferryOk, status, waitConverged, waitFor, type Device } from '../helpers/ferry-process.ts'
import { useRelay, useRelayLabs, type Relay } from '../helpers/relay-process.ts'
import { natLabUnavailable } from '../helpers/nat-lab.ts'
import { publicRelay, useNatBed } from '../helpers/nat-scenario.ts'
import { createNode, type FerryNode } from '../../src/node/create-node.ts'
import { JOIN_PROTOCOLS, requestJoin } from '../../protocols/join/index.ts'
import { SEALED_KEYRING_PROTOCOLS, getSealedKeyring } from '../../protocols/sealed-keyring/index.ts'
import { rejection } from '../helpers/async-checks.ts'
import { HOP_PROTOCOL } from '../../relay/relay-limit-guard.ts'

/** HopMessage { type: RESERVE }, length-prefixed (circuit relay v2) */
const RESERVE = Uint8Array.from([0x02, 0x08, 0x00])
/** HopMessage { type: STATUS, status: PERMISSION_DENIED (202) }, length-prefixed */
const PERMISSION_DENIED = [0x05, 0x08, 0x02, 0x28, 0xca, 0x01]

/** asks `relay` for a reservation by hand; resolves with the answer's first bytes */
async function reserve (node: FerryNode, relay: string): Promise<number[]> {
  const stream = await node.dialProtocol(peerIdFromString(relay), HOP_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  stream.send(RESERVE)
  const got: number[] = []
  for await (const chunk of stream) {
    got.push(...chunk.subarray())
    if (got.length >= PERMISSION_DENIED.length) break
  }
  await stream.close().catch(() => {})
  return got.slice(0, PERMISSION_DENIED.length)
}

const unavailable = natLabUnavailable()
if (unavailable !== undefined) console.warn(`join-relay: skipped: ${unavailable}`)

async function invite (d: Device): Promise<string> {
  return (await ferryOk(['--home', d.home, 'invite', 'docs'])).split('\n')[0]!
}

async function holdsReservation (d: Device, r: Relay): Promise<void> {
  await waitFor(`${d.name} holds a reservation on the relay`, async () => (await status(d)).listenAddrs.some(x => x.includes(`/p2p/${r.id}/p2p-circuit`)), 60_000)
}

/** Two devices, each behind its own home router's NAT; they know only the relay's public address. */
describe.skipIf(unavailable !== undefined)('ferry join through the relay, between two homes', () => {
  const env = useNatBed([{}, {}])

  it('b, knowing only the code, joins a folder of a through the relay (which does not trust b yet); once b uses the relay and it trusts b, they sync', async () => {
    const { net, lab } = env
    const r = await publicRelay(env)
    const a = await lab.device('a')
    const b = await lab.device('b', 'b-own')
    // b knows nothing but the code it is given; the relay does not trust b
    await useRelay(a, r)
    await writeFile(join(a.folder, 'hello.txt'), 'from home 1')
    const inHome = (i: number): { netns: string, listen: string } => ({ netns: net.homes[i]!.netns, listen: '/ip4/0.0.0.0/tcp/0' })
    await Promise.all([lab.start(a, inHome(0)), lab.start(b, inHome(1))])
    await holdsReservation(a, r)
    const code = await invite(a)
    // b's `ferry join` runs in home 2: a's own addresses are behind a's NAT
    const inB = { command: 'ip', prefix: ['netns', 'exec', net.homes[1]!.netns, process.execPath, ...FERRY_NODE_FLAGS, join(REPO, 'src/cli/ferry.js')] }
    const joined = await ferry(['--home', b.home, 'join', code, join(dirname(b.folder), 'docs')], {}, inB)
    expect(joined.code, `${joined.stderr}\n${r.log.slice(-2000)}`).toBe(0)
    // b uses the relay for the folder, and the relay's operator trusts b: from then on they meet
    // through the relay as usual
    await ferryOk(['--home', b.home, 'device', 'add', r.id, '--addr', r.addr, '--name', 'relay'])
    await ferryOk(['--home', b.home, 'share', 'docs', r.id, '--replica'])
    await ferryOk(['--home', r.home, 'device', 'add', b.id, '--name', 'b'])
    b.folder = join(dirname(b.folder), 'docs')
    await waitConverged([a, b], 90_000)
      .catch(err => { throw new Error(`${(err as Error).message}\n${a.log.slice(-2000)}\n${b.log.slice(-2000)}\n${r.log.slice(-2000)}`) })
    expect(await readFile(join(b.folder, 'hello.txt'), 'utf8')).toBe('from home 1')
  })
})

describe('a stranger reaches a device through the relay only while it has an open invitation', () => {
  const env = useRelayLabs()
  const strangers: FerryNode[] = []
  afterEach(async () => { await Promise.all(strangers.splice(0).map(async n => { await n.stop() })) })

  async function stranger (): Promise<FerryNode> {
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], isTrusted: () => true, mdns: false, abortOnPingFailure: false })
    strangers.push(node)
    await node.start()
    return node
  }

  it('refused with no invitation, let through to the join protocol only while one is open, refused again once it is used', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b', 'b-own')
    // c: another tenant of the relay, with no invitation of its own
    const c = await lab.device('c', 'c-own')
    await useRelay(a, r)
    await useRelay(c, r, 'c-own')
    await Promise.all([lab.start(a), lab.start(c)])
    await Promise.all([holdsReservation(a, r), holdsReservation(c, r)])
    const circuit = multiaddr(`${r.addr}/p2p/${r.id}/p2p-circuit/p2p/${a.id}`)
    const aId = peerIdFromString(a.id)
    const rId = peerIdFromString(r.id)

    // no invitation: the relay does not even let the stranger connect
    const s1 = await stranger()
    await rejection(s1.dial(circuit, { signal: AbortSignal.timeout(10_000) }))
    expect(s1.getConnections(aId)).toHaveLength(0)

    const code = await invite(a)
    // `ferry invite` answers once a's relays know
    expect(r.log).toMatch(/a \(12D3KooW\w+\) accepts joiners through this relay until \d{4}-/)
    const s2 = await stranger()
    const conn = await s2.dial(circuit, { signal: AbortSignal.timeout(10_000) })
    expect(conn.remoteAddr.toString()).toContain('/p2p-circuit')
    // through the circuit: a's join protocol answers (an unknown secret is refused by name)
    const stream = await s2.dialProtocol(aId, [...JOIN_PROTOCOLS], { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    const refused = await rejection(requestJoin(stream, { folder: 'docs', secret: new Uint8Array(32), addrs: [] }))
    expect((refused as { code?: string }).code).toBe('ERR_FERRY_INVITE_UNKNOWN')
    // but nothing of the relay's own: a ferry protocol of it is refused, and it holds no reservation for the stranger
    await rejection(s2.dialProtocol(rId, [...SEALED_KEYRING_PROTOCOLS], { signal: AbortSignal.timeout(10_000) }).then(async s => await getSealedKeyring(s, 'docs')))
    expect(await reserve(s2, r.id)).toEqual(PERMISSION_DENIED)
    // nor a circuit to another device of the relay (c has no invitation open)
    const toC = await rejection(s2.dial(multiaddr(`${r.addr}/p2p/${r.id}/p2p-circuit/p2p/${c.id}`), { signal: AbortSignal.timeout(10_000) }))
    expect(toC.message).toMatch(/PERMISSION_DENIED/)

    // the invitation is used (b joins, directly): a closes its window on the relay
    expect((await ferry(['--home', b.home, 'join', code, join(dirname(b.folder), 'docs')])).code).toBe(0)
    await waitFor('a closed its window on the relay', () => r.log.includes('accepts no joiners through this relay any more'), 30_000)
    await waitFor('the relay refuses strangers again', async () => {
      const s = await stranger()
      return await s.dial(circuit, { signal: AbortSignal.timeout(10_000) }).then(() => false, () => true)
    }, 30_000)
  })
})
