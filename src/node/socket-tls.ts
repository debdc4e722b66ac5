import { Socket } from 'node:net'
import { TLSSocket, connect, type ConnectionOptions, type TLSSocketOptions } from 'node:tls'
import { InvalidCryptoExchangeError, serviceCapabilities } from '@libp2p/interface'
import type { ConnectionEncrypter, MessageStream, SecureConnectionOptions, SecuredConnection, StreamMuxerFactory } from '@libp2p/interface'
import { tls, type TLSComponents } from '@libp2p/tls'
import { generateCertificate, toMessageStream, verifyPeerCertificate } from '@libp2p/tls/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/** the libp2p TLS protocol id: this is the same protocol, peers cannot tell the difference */
const TLS_PROTOCOL = '/tls/1.0.0'
/** the ALPN name meaning "no early muxer negotiation" (libp2p TLS spec) */
const NO_EARLY_MUXER = 'libp2p'

/** connections secured so far on the kernel socket, and by @libp2p/tls (for tests and logs) */
export const socketTlsCounts = { socket: 0, fallback: 0 }

/** A TCP connection as @libp2p/tcp makes it: the kernel socket, and what was read but not yet consumed. */
export interface TcpConnection {
  socket: Socket
  readBuffer: Uint8ArrayList
}

/**
 * The connection's kernel socket when it has one we can hand to OpenSSL (TCP), else undefined.
 * Exported for test/unit/socket-tls-internals.test.ts, which fails when @libp2p/tcp changes
 * what this relies on (a silent fallback to @libp2p/tls would only cost CPU).
 */
export function tcpOf (connection: MessageStream): TcpConnection | undefined {
  // @libp2p/tcp's connection keeps its net.Socket in `socket` and unread bytes in the protected
  // `readBuffer`; anything else (a relayed or in-memory connection) has neither and is left to
  // @libp2p/tls
  const c = connection as Partial<TcpConnection>
  const socket = c.socket
  if (!(socket instanceof Socket) || socket.destroyed || (socket as { _handle?: unknown })._handle == null) return undefined
  if (c.readBuffer === undefined || typeof c.readBuffer.sublist !== 'function') return undefined
  return { socket, readBuffer: c.readBuffer }
}

/**
 * Makes the TCP connection's teardown of `raw` (abort, close) run on the next turn of the event
 * loop. Once OpenSSL reads the socket, code called back from it (a handshake finishing, data
 * arriving: a gater's refusal, a protocol cutting a misbehaving peer off) may tear the connection
 * down while the TLS layer is still on the native stack, and closing the socket under it there
 * crashes the process (Node 24: a segfault; reproduced by destroying the socket in a 'secure'
 * handler). Destroying the TLS socket is safe; destroying the socket it wraps is not.
 */
function deferTeardown (raw: Socket): void {
  const later = (teardown: (this: Socket, ...args: unknown[]) => unknown) => (...args: unknown[]): Socket => {
    setImmediate(() => { teardown.apply(raw, args) })
    return raw
  }
  // instance properties shadow net.Socket's methods for this one socket
  Object.assign(raw, {
    destroy: later(Socket.prototype.destroy as (this: Socket, ...args: unknown[]) => unknown),
    destroySoon: later(Socket.prototype.destroySoon as (this: Socket, ...args: unknown[]) => unknown),
    resetAndDestroy: later(Socket.prototype.resetAndDestroy as (this: Socket, ...args: unknown[]) => unknown)
  })
}

/**
 * libp2p's TLS 1.3 (the same certificates, peer id checks and ALPN muxer negotiation as
 * @libp2p/tls, whose certificate code it uses), with one difference: over TCP, OpenSSL is given
 * the kernel socket itself instead of a JavaScript duplex in front of it. Ciphertext then never
 * enters JavaScript: no per-chunk stream plumbing, no ciphertext buffers for the garbage
 * collector (issue 3: about 0.4 CPU-seconds per GiB on each side, measured with node:tls). Any other
 * connection is secured by @libp2p/tls unchanged.
 */
class SocketTLS implements ConnectionEncrypter {
  readonly protocol = TLS_PROTOCOL
  readonly [Symbol.toStringTag] = 'ferry/socket-tls'
  readonly [serviceCapabilities] = ['@libp2p/connection-encryption']
  private readonly components: TLSComponents
  private readonly fallback: ConnectionEncrypter

  constructor (components: TLSComponents) {
    this.components = components
    this.fallback = tls()(components)
  }

  async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    const tcp = tcpOf(connection)
    if (tcp === undefined) socketTlsCounts.fallback++
    return tcp === undefined ? await this.fallback.secureInbound(connection, options) : await this.encrypt(connection, tcp, true, options)
  }

  async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    const tcp = tcpOf(connection)
    if (tcp === undefined) socketTlsCounts.fallback++
    return tcp === undefined ? await this.fallback.secureOutbound(connection, options) : await this.encrypt(connection, tcp, false, options)
  }

  private async encrypt (connection: MessageStream, tcp: TcpConnection, isServer: boolean, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    const log = this.components.logger.forComponent('ferry:socket-tls')
    const muxers = options?.skipStreamMuxerNegotiation === true ? new Map<string, StreamMuxerFactory>() : this.components.upgrader.getStreamMuxers()
    const certificate = await generateCertificate(this.components.privateKey, options)
    const common = {
      ...certificate,
      minVersion: 'TLSv1.3' as const,
      maxVersion: 'TLSv1.3' as const,
      // peers present self-signed certificates; the libp2p extension is what is checked
      rejectUnauthorized: false
    }
    // what the peer sent after the protocol was agreed (its first handshake bytes) was read by
    // the TCP connection: it goes back into the socket, ahead of anything not yet read, and the
    // connection stops listening: from here on OpenSSL reads the socket
    const { socket: raw, readBuffer } = tcp
    raw.pause()
    raw.removeAllListeners('data')
    const early = readBuffer.subarray()
    readBuffer.consume(readBuffer.byteLength)
    if (early.byteLength > 0) raw.unshift(early)
    // the connection's inactivity timer watched the raw socket, which sees no reads now
    const inactivityMs = raw.timeout ?? 0
    raw.setTimeout(0)
    deferTeardown(raw)

    let socket: TLSSocket
    if (isServer) {
      const serverOptions: TLSSocketOptions = {
        ...common,
        isServer: true,
        requestCert: true,
        ALPNProtocols: [...muxers.keys(), NO_EARLY_MUXER],
        // the first protocol the client offers that we have, else none early
        ALPNCallback: ({ protocols }) => protocols.find(p => p === NO_EARLY_MUXER || muxers.has(p))
      }
      socket = new TLSSocket(raw, serverOptions)
    } else {
      const clientOptions: ConnectionOptions = { ...common, socket: raw, ALPNProtocols: [...muxers.keys(), NO_EARLY_MUXER] }
      socket = connect(clientOptions)
    }
    if (inactivityMs > 0) socket.setTimeout(inactivityMs, () => { socket.destroy(new Error('inactivity timeout')) })

    const onAbort = (): void => { socket.destroy(new InvalidCryptoExchangeError('TLS handshake aborted')) }
    options?.signal?.addEventListener('abort', onAbort)
    try {
      return await new Promise<SecuredConnection>((resolve, reject) => {
        const fail = (err: Error): void => {
          log.error('TLS on %s connection failed - %e', connection.direction, err)
          socket.destroy()
          connection.abort(err)
          reject(err)
        }
        socket.on('error', fail)
        socket.once('secure', () => {
          verifyPeerCertificate(socket.getPeerCertificate().raw, options?.remotePeer, log).then(remotePeer => {
            socket.off('error', fail)
            socket.on('error', err => { connection.abort(err) })
            let streamMuxer: StreamMuxerFactory | undefined
            const alpn = socket.alpnProtocol
            if (!isServer && typeof alpn === 'string' && alpn !== NO_EARLY_MUXER && options?.skipStreamMuxerNegotiation !== true) {
              streamMuxer = muxers.get(alpn)
              if (streamMuxer === undefined) { fail(new InvalidCryptoExchangeError(`peer chose muxer ${alpn}, which we do not have`)); return }
            }
            if (isServer && typeof alpn === 'string') streamMuxer = muxers.get(alpn)
            socketTlsCounts.socket++
            resolve({ remotePeer, connection: toMessageStream(connection, socket), ...(streamMuxer === undefined ? {} : { streamMuxer }) })
          }, fail)
        })
      })
    } finally {
      options?.signal?.removeEventListener('abort', onAbort)
    }
  }
}

/** A connection encrypter for libp2p's `connectionEncrypters`, in place of `tls()`. */
export function socketTls (): (components: TLSComponents) => ConnectionEncrypter {
  return components => new SocketTLS(components)
}
