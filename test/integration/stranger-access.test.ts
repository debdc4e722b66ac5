import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode } from 'cborg'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import type { PrivateKey, Stream } from '@libp2p/interface'
import { deviceAddCommand, folderAddCommand, initCommand, shareCommand } from '../../src/commands/index.ts'
import { inviteCommand } from '../../src/commands/sharing-commands.ts'
import { decodePairingCode } from '../../src/sharing/pairing-code.ts'
import { readApiInfo } from '../../src/api/api-token.ts'
import { DHT_PROTOCOL } from '../../src/node/create-node.ts'
import { JOIN_PROTOCOL_V1, requestJoin } from '../../protocols/join/index.ts'
import { INDEX_PROTOCOL_V2 } from '../../protocols/index/constants.ts'
import { BLOCKS_PROTOCOL_V2 } from '../../protocols/blocks/constants.ts'
import type { Config } from '../../src/config/config.ts'
import { waitFor } from '../helpers/ferry-process.ts'
import { startLocalDaemon, type Cleanups } from '../helpers/in-process-nodes.ts'
import { rejection } from '../helpers/async-checks.ts'
import { syntheticBlock } from '../helpers/synthetic-records.ts'

/** A bare libp2p node with a DHT client on ferry's DHT protocol: a stranger that knows the wire. */
async function startStranger (key: PrivateKey, cleanups: Cleanups): Promise<Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>>, dht: ReturnType<ReturnType<typeof kadDHT>> }>> {
  const node = await createLibp2p({
    privateKey: key,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), dht: kadDHT({ protocol: DHT_PROTOCOL, clientMode: true, peerInfoMapper: passthroughMapper }) }
  })
  cleanups.push(async () => { await node.stop() })
  return node
}

/** Bytes the other side sends on `stream` after `request`, until it closes or resets it (bounded). */
async function answerBytes (stream: Stream, request?: Uint8Array): Promise<number> {
  // the reset may come before we are done writing
  if (request !== undefined) await lpStream(stream).write(request).catch(() => {})
  const timer = setTimeout(() => stream.abort(new Error('no answer in time')), 10_000)
  let n = 0
  try {
    for await (const chunk of stream) n += chunk.byteLength
  } catch {} finally { clearTimeout(timer) }
  return n
}

describe('strangers during a pending invitation', () => {
  const cleanups: Cleanups = []
  afterEach(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
    cleanups.length = 0
  })

  async function twoTrusted (): Promise<{ aHome: string, bHome: string, aAddr: string, a: Awaited<ReturnType<typeof startLocalDaemon>> }> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-stranger-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const aHome = join(dir, 'a')
    const bHome = join(dir, 'b')
    const aId = (await initCommand(aHome)).deviceId
    const bId = (await initCommand(bHome)).deviceId
    await folderAddCommand(aHome, join(dir, 'a-docs'), 'docs')
    await folderAddCommand(bHome, join(dir, 'b-docs'), 'docs')
    await deviceAddCommand(aHome, bId, { addrs: [] })
    await shareCommand(aHome, 'docs', bId, { readOnly: false })
    const a = await startLocalDaemon(aHome, cleanups)
    const aAddr = a.daemon.status().listenAddrs[0]!
    await deviceAddCommand(bHome, aId, { addrs: [aAddr.replace(/\/p2p\/.*$/, '')] })
    await shareCommand(bHome, 'docs', aId, { readOnly: false })
    await startLocalDaemon(bHome, cleanups)
    await waitFor('a and b connected', () => a.daemon.status().peers.some(p => p.id === bId && p.connected))
    return { aHome, bHome, aAddr, a }
  }

  it('get only /ferry/join/1: no identify, ping, DHT, index or blocks; the connection closes once the join fails', async () => {
    const { aHome, aAddr, a } = await twoTrusted()
    const bId = Object.keys((JSON.parse(await readFile(join(aHome, 'config.json'), 'utf8')) as Config).devices)[0]!
    await inviteCommand(aHome, 'docs', { readOnly: false })
    const stranger = await startStranger(await generateKeyPair('Ed25519'), cleanups)
    const aId = peerIdFromString(a.daemon.self)
    await stranger.dial(multiaddr(aAddr))
    // the DHT does not answer it: b's addresses stay unknown to it
    await rejection(stranger.peerRouting.findPeer(peerIdFromString(bId), { signal: AbortSignal.timeout(10_000) }))
    // every protocol but join: the stream is reset unanswered (a trusted device gets an answer to each)
    const cid = syntheticBlock('x').cid
    const asked: Array<[string, Uint8Array | undefined]> = [
      ['/ipfs/id/1.0.0', undefined],
      ['/ipfs/ping/1.0.0', new Uint8Array(32)],
      [DHT_PROTOCOL, undefined],
      [INDEX_PROTOCOL_V2, encode(['sub', 'docs', []])],
      [BLOCKS_PROTOCOL_V2, encode(['want', 'docs', [cid.bytes]])]
    ]
    for (const [protocol, request] of asked) {
      const stream = await stranger.dialProtocol(aId, protocol, { signal: AbortSignal.timeout(10_000) })
      expect({ protocol, bytes: await answerBytes(stream, request) }).toEqual({ protocol, bytes: 0 })
    }
    // a join with a wrong secret is refused with a reason, then a hangs up
    const join1 = await stranger.dialProtocol(aId, JOIN_PROTOCOL_V1, { signal: AbortSignal.timeout(10_000) })
    const err = await rejection(requestJoin(join1, { folder: 'docs', secret: new Uint8Array(32), addrs: [] }))
    expect(err.code).toBe('ERR_FERRY_INVITE_UNKNOWN')
    await waitFor('a to close the stranger\'s connection', () => stranger.getConnections(aId).length === 0, 15_000)
    expect(a.daemon.status().peers.map(p => p.id)).toEqual([bId])
  })

  it('a join request with a garbage address is refused with a typed error; the inviter stays up, the code still works, a restart is fine', async () => {
    const { aHome, aAddr, a } = await twoTrusted()
    const code = decodePairingCode((await inviteCommand(aHome, 'docs', { readOnly: false })).code)
    const joinerKey = await generateKeyPair('Ed25519')
    const joiner = await startStranger(joinerKey, cleanups)
    const aId = peerIdFromString(a.daemon.self)
    await joiner.dial(multiaddr(aAddr))
    const bad = await joiner.dialProtocol(aId, JOIN_PROTOCOL_V1, { signal: AbortSignal.timeout(10_000) })
    const err = await rejection(requestJoin(bad, { folder: 'docs', secret: code.secret, addrs: ['garbage'] }))
    expect(err.code).toBe('ERR_FERRY_INVALID_MESSAGE')
    expect(err.message).toMatch(/garbage.*not a multiaddr/)
    // nothing recorded, the daemon answers, the invitation is not spent
    const config = JSON.parse(await readFile(join(aHome, 'config.json'), 'utf8')) as Config
    expect(Object.keys(config.devices)).not.toContain(joiner.peerId.toString())
    expect(a.daemon.status().deviceId).toBe(a.daemon.self)
    await waitFor('a to close the joiner\'s connection', () => joiner.getConnections(aId).length === 0, 15_000)
    await joiner.dial(multiaddr(aAddr))
    const good = await joiner.dialProtocol(aId, JOIN_PROTOCOL_V1, { signal: AbortSignal.timeout(10_000) })
    expect(await requestJoin(good, { folder: 'docs', secret: code.secret, addrs: ['/ip4/127.0.0.1/tcp/9'] })).toBe('read-write')
    // a restart reads what the join recorded
    await a.daemon.stop()
    const again = await startLocalDaemon(aHome, cleanups)
    expect(again.daemon.status().peers.map(p => p.id)).toContain(joiner.peerId.toString())
    expect(again.lines.filter(l => l.startsWith('config: skipped'))).toEqual([])
  })

  it('the HTTP API checks body types: {"readOnly":"yes"} is a 400, not an invitation', async () => {
    const { aHome } = await twoTrusted()
    const api = await readApiInfo(aHome)
    const post = async (body: string): Promise<{ status: number, json: { error?: string, code?: string, role?: string } }> => {
      const res = await fetch(`${api.url}/invitations`, { method: 'POST', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' }, body })
      return { status: res.status, json: await res.json() as { error?: string, code?: string } }
    }
    for (const body of ['{"folder":"docs","readOnly":"yes"}', '{"folder":"docs","readOnly":1}', '{"folder":"docs","ttlSeconds":"60"}', '{"folder":["docs"]}', '[]', '"docs"', '{"folder":"docs","ttlSeconds":1.5}']) {
      const r = await post(body)
      expect({ body, status: r.status, code: r.json.code }).toEqual({ body, status: 400, code: 'ERR_FERRY_BAD_REQUEST' })
      expect(r.json.error).not.toContain('\n')
    }
    expect((await post('{"folder":"docs","readOnly":"yes"}')).json.error).toMatch(/readOnly must be true or false/)
    const ok = await post('{"folder":"docs","readOnly":true}')
    expect(ok.status).toBe(200)
    expect(ok.json.role).toBe('read-only')
    // nothing was made by the refused requests: one invitation pending
    const list = await fetch(`${api.url}/invitations`, { headers: { authorization: `Bearer ${api.token}` } })
    expect((await list.json() as unknown[]).length).toBe(1)
  })
})
