import { afterEach, describe, expect, it } from 'vitest'
import { createServer, Socket, type Server } from 'node:net'
import { once } from 'node:events'
import { tcp } from '@libp2p/tcp'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { tcpOf } from '../../src/node/socket-tls.ts'

// src/node/socket-tls.ts hands OpenSSL the kernel socket of @libp2p/tcp's connection. It reaches
// into that connection: `socket` (its net.Socket), `readBuffer` (bytes read but not consumed),
// the 'data' listener through which it reads, the inactivity timeout set on the socket, and the
// socket methods it tears down with. If any of that changes, socket-tls falls back to
// @libp2p/tls without an error (same protocol, more CPU); this test is what notices.
// Real TCP on 127.0.0.1: @libp2p/tcp dials a plain node:net server; the upgrader only catches
// the raw connection @libp2p/tcp made.

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn()
  cleanups.length = 0
})

async function rawConnection (): Promise<{ maConn: MultiaddrConnection, peer: Socket }> {
  const server: Server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(async () => { await new Promise(resolve => server.close(resolve)) })
  const peerP = once(server, 'connection') as Promise<[Socket]>
  const port = (server.address() as { port: number }).port
  const transport = tcp()({ logger: defaultLogger() }) as Transport
  let caught: MultiaddrConnection | undefined
  const upgrader = { upgradeOutbound: async (maConn: MultiaddrConnection) => { caught = maConn; return maConn } } as unknown as Upgrader
  await transport.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}`), { upgrader, signal: AbortSignal.timeout(10_000) })
  const [peer] = await peerP
  peer.on('error', () => {}) // the connection is reset at the end
  cleanups.push(() => { peer.destroy() })
  cleanups.push(() => { caught?.abort(new Error('test over')) })
  return { maConn: caught!, peer }
}

async function until (what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

describe('@libp2p/tcp internals that socket-tls relies on', () => {
  it('a TCP connection exposes its live net.Socket as `socket` and a Uint8ArrayList `readBuffer`', async () => {
    const { maConn } = await rawConnection()
    const c = maConn as unknown as { socket?: unknown, readBuffer?: unknown }
    expect(c.socket, '@libp2p/tcp no longer keeps its net.Socket in `socket`').toBeInstanceOf(Socket)
    expect(c.readBuffer, '@libp2p/utils no longer keeps unread bytes in `readBuffer`').toBeInstanceOf(Uint8ArrayList)
    const found = tcpOf(maConn)
    expect(found, 'socket-tls would fall back to @libp2p/tls on TCP').toBeDefined()
    expect(found!.socket).toBe(c.socket)
  })

  it('bytes the peer sends before anyone reads land in `readBuffer`, read through the socket\'s `data` listener', async () => {
    const { maConn, peer } = await rawConnection()
    const { socket, readBuffer } = tcpOf(maConn)!
    expect(socket.listenerCount('data'), 'the connection no longer reads through a data listener').toBeGreaterThan(0)
    peer.write('first handshake bytes')
    await until('early bytes in readBuffer', () => readBuffer.byteLength === 21)
    expect(Buffer.from(readBuffer.subarray()).toString()).toBe('first handshake bytes')
    // socket-tls detaches the reader (as it does: pause, remove, push the early bytes back); after
    // that nothing the peer sends reaches the connection
    socket.pause()
    socket.removeAllListeners('data')
    const early = readBuffer.subarray()
    readBuffer.consume(readBuffer.byteLength)
    socket.unshift(early)
    const got: Buffer[] = []
    socket.on('data', (b: Buffer) => got.push(b))
    socket.resume()
    peer.write(' and more')
    await until('the bytes through our own listener', () => Buffer.concat(got).toString() === 'first handshake bytes and more')
    expect(readBuffer.byteLength).toBe(0)
  })

  it('the connection\'s inactivity timeout is set on the socket (socket-tls moves it to the TLS socket)', async () => {
    const { maConn } = await rawConnection()
    expect(tcpOf(maConn)!.socket.timeout, 'no inactivity timeout on the raw socket').toBeGreaterThan(0)
  })

  it('the connection tears down through the socket\'s own destroy/destroySoon/resetAndDestroy (socket-tls defers those)', async () => {
    for (const end of ['abort', 'close'] as const) {
      const { maConn } = await rawConnection()
      const socket = tcpOf(maConn)!.socket
      const called: string[] = []
      for (const name of ['destroy', 'destroySoon', 'resetAndDestroy', 'end'] as const) {
        const original = Socket.prototype[name] as (this: Socket, ...args: unknown[]) => unknown
        Object.assign(socket, { [name]: (...args: unknown[]) => { called.push(name); return original.apply(socket, args) } })
      }
      if (end === 'abort') maConn.abort(new Error('test'))
      else await maConn.close()
      expect(called.some(n => n === 'destroy' || n === 'destroySoon' || n === 'resetAndDestroy'), `${end} no longer goes through the socket's methods (called: ${called.join(', ')})`).toBe(true)
    }
  })
})
