import { describe, it, expect, afterEach } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { yamux } from '@libp2p/yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Stream } from '@libp2p/interface'
import { socketTls, socketTlsCounts } from '../../src/node/socket-tls.ts'
import { waitFor } from '../helpers/ferry-process.ts'

const ECHO = '/test/sha/1'
const MIB = 1024 * 1024

type Kind = 'socket' | 'stock'

/**
 * ferry's TLS (OpenSSL on the kernel socket) against itself and against @libp2p/tls (OpenSSL
 * behind a JavaScript duplex): the same protocol, so each must talk to the other, move data
 * intact in both directions, and see the other side hang up.
 */
describe('socket TLS', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
    nodes.length = 0
  })

  async function node (kind: Kind, refuseAll = false): Promise<Libp2p> {
    const n = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [kind === 'socket' ? socketTls() : tls()],
      streamMuxers: [yamux()],
      // a refusal right after the handshake tears the connection down from inside the TLS
      // layer's callback: closing the socket there used to crash the process
      connectionGater: { denyInboundEncryptedConnection: () => refuseAll, denyOutboundEncryptedConnection: () => refuseAll }
    })
    // answers with the sha256 of everything it read, then echoes the first MiB back
    await n.handle(ECHO, async (stream: Stream) => {
      const hash = createHash('sha256')
      const head: Uint8Array[] = []
      let headBytes = 0
      for await (const chunk of stream) {
        const bytes = chunk.subarray()
        hash.update(bytes)
        if (headBytes < MIB) { head.push(bytes.slice(0, MIB - headBytes)); headBytes += Math.min(bytes.byteLength, MIB - headBytes) }
      }
      stream.send(hash.digest())
      for (const b of head) stream.send(b)
      await stream.close()
    })
    nodes.push(n)
    return n
  }

  async function roundTrip (from: Libp2p, to: Libp2p, bytes: number): Promise<void> {
    const data = randomBytes(bytes)
    const stream = await from.dialProtocol(to.getMultiaddrs()[0]!, ECHO)
    for (let at = 0; at < bytes; at += 256 * 1024) {
      if (!stream.send(data.subarray(at, at + 256 * 1024))) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
    }
    await stream.close()
    const answer: Uint8Array[] = []
    for await (const chunk of stream) answer.push(chunk.subarray())
    const got = Buffer.concat(answer)
    expect(got.subarray(0, 32).equals(createHash('sha256').update(data).digest())).toBe(true)
    expect(got.subarray(32).equals(data.subarray(0, MIB))).toBe(true)
    const conn = from.getConnections(to.peerId)[0]!
    expect(conn.encryption).toBe('/tls/1.0.0')
  }

  for (const [a, b] of [['socket', 'socket'], ['socket', 'stock'], ['stock', 'socket']] as Array<[Kind, Kind]>) {
    it(`${a} dialing ${b}: 24 MiB arrive intact, 1 MiB comes back, hang-up is seen`, async () => {
      const dialer = await node(a)
      const listener = await node(b)
      const before = { ...socketTlsCounts }
      await roundTrip(dialer, listener, 24 * MIB)
      // each 'socket' end secured its side on the kernel socket, none fell back
      expect(socketTlsCounts.socket - before.socket).toBe([a, b].filter(k => k === 'socket').length)
      expect(socketTlsCounts.fallback).toBe(before.fallback)
      await roundTrip(listener, dialer, 3 * MIB) // the other direction, on the same connection
      await dialer.hangUp(listener.peerId)
      await waitFor('the listener sees the hang-up', async () => listener.getConnections(dialer.peerId).length === 0, 10_000)
    })
  }

  it('a gater refusing the peer after the handshake, either way, closes the connection and nothing crashes', async () => {
    const refusing = await node('socket', true)
    const other = await node('socket')
    await other.dial(refusing.getMultiaddrs()[0]!).catch(() => {})
    await expect(refusing.dial(other.getMultiaddrs()[0]!)).rejects.toThrow(/gater/)
    await waitFor('no connection is left', async () => refusing.getConnections().length === 0 && other.getConnections().length === 0, 10_000)
    // both still work
    await roundTrip(other, await node('socket'), MIB)
  })

  it('refuses a peer that is not the one dialled', async () => {
    const dialer = await node('socket')
    const listener = await node('socket')
    const impostor = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const addr = listener.getMultiaddrs()[0]!.decapsulateCode(421).encapsulate(`/p2p/${impostor.toString()}`)
    await expect(dialer.dial(addr)).rejects.toThrow()
    expect(dialer.getConnections()).toHaveLength(0)
  })
})
