import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { encode, decode } from 'cborg'
import { STRICT_CBOR } from '../../src/log/record-codec.ts'
import { InvalidMessageError, TruncatedStreamError, toError } from './errors.ts'

export interface MessageStreamOptions {
  /** largest message accepted from the peer, in bytes */
  maxMessageBytes: number
  /** writes wait while more than this is queued in the muxer (libp2p does not bound it) */
  maxQueuedBytes?: number
  /** unread bytes that may pile up behind the message being read (the peer's window) */
  maxBufferedBytes?: number
}

const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024

/**
 * Length-prefixed strict-CBOR messages over a libp2p stream, with bounded reads and writes.
 * Every message is a CBOR array whose first element is its type tag (a string).
 */
export class MessageStream {
  readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly protocol: string
  private readonly maxQueuedBytes: number

  constructor (stream: Stream, protocol: string, opts: MessageStreamOptions) {
    this.stream = stream
    this.protocol = protocol
    this.maxQueuedBytes = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES
    // the read buffers must hold the largest message plus what is in flight behind it
    const maxBuffered = Math.max(opts.maxBufferedBytes ?? 0, opts.maxMessageBytes * 2) + 64 * 1024
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, maxBuffered)
    this.lp = lpStream(stream, { maxDataLength: opts.maxMessageBytes, maxBufferSize: maxBuffered })
  }

  /** Next message as an array with a string tag; TruncatedStreamError at end of stream. */
  async read (options: { signal?: AbortSignal } = {}): Promise<[string, ...unknown[]]> {
    return this.decode(await this.readFrame(options))
  }

  /**
   * The bytes of the next message, as the pieces they arrived in (not copied); for a caller
   * that parses a message kind itself (a block) before falling back to `decode`.
   */
  async readFrame (options: { signal?: AbortSignal } = {}): Promise<Uint8ArrayList> {
    try {
      return await this.lp.read(options)
    } catch (e) {
      const err = toError(e)
      if (err.name === 'UnexpectedEOFError') throw new TruncatedStreamError(this.protocol, 'the next message')
      // a framing error leaves the read buffer out of step: this stream is done, and a peer
      // that sends oversized or malformed frames is misbehaving
      this.stream.abort(err)
      if (err.name === 'InvalidDataLengthError' || err.name === 'InvalidDataLengthLengthError' || err.name === 'InvalidMessageLengthError' || err.name === 'StreamBufferError') {
        throw new InvalidMessageError(this.protocol, `bad frame (${err.message})`)
      }
      throw err
    }
  }

  /** A frame's strict CBOR as a tagged array, else InvalidMessageError. */
  decode (frame: Uint8ArrayList): [string, ...unknown[]] {
    return decodeFrame(this.protocol, frame.subarray())
  }

  /** Sends one message; waits while the muxer's queue is over the bound. */
  async write (message: readonly unknown[], options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.writeEncoded([encode(message)], options)
  }

  /**
   * Sends one message already encoded as CBOR, in parts (a big byte string can follow its
   * header without being copied into one buffer).
   */
  async writeEncoded (parts: readonly Uint8Array[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const s = this.stream
    if (s.writeStatus !== 'writable') throw new TruncatedStreamError(this.protocol, 'the write could happen')
    s.send(varint(parts.reduce((n, p) => n + p.byteLength, 0)))
    for (const p of parts) s.send(p)
    while (s.writeBufferLength > this.maxQueuedBytes) {
      options.signal?.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const done = (): void => { s.removeEventListener('drain', done); s.removeEventListener('close', closed); resolve() }
        const closed = (e: Event): void => {
          s.removeEventListener('drain', done)
          reject(toError((e as Event & { error?: unknown }).error ?? new TruncatedStreamError(this.protocol, 'the write drained')))
        }
        s.addEventListener('drain', done, { once: true })
        s.addEventListener('close', closed, { once: true })
      })
    }
  }

  /** Half-closes our side; errors (peer already gone) are swallowed: the reader sees the truth. */
  async close (): Promise<void> {
    try { await this.stream.close() } catch { this.stream.abort(new Error('close failed')) }
  }

  abort (err: unknown): void {
    this.stream.abort(toError(err))
  }
}

/** A frame's strict CBOR as a tagged array (a string first), else InvalidMessageError of `protocol`. */
export function decodeFrame (protocol: string, bytes: Uint8Array): [string, ...unknown[]] {
  let v: unknown
  try { v = decode(bytes, STRICT_CBOR) } catch (err) {
    throw new InvalidMessageError(protocol, `bad CBOR (${(err as Error).message})`)
  }
  if (!Array.isArray(v) || typeof v[0] !== 'string') throw new InvalidMessageError(protocol, 'not a tagged array')
  return v as [string, ...unknown[]]
}

function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Uint8Array.from(out)
}
