import type { Stream } from '@libp2p/interface'
import { encode } from 'cborg'
import type { Uint8ArrayList } from 'uint8arraylist'
import { MessageStream, type MessageStreamOptions } from './message-stream.ts'

/** A protocol version's wire schema: typed messages to and from tagged CBOR arrays. */
export interface MessageCodec<M> {
  encode: (m: M) => unknown[]
  /** throws InvalidMessageError for anything outside the schema */
  decode: (v: [string, ...unknown[]]) => M
}

/** what passed on the stream: one frame (length prefix and body) */
export type FrameObserver<M> = (m: M, frameBytes: number, direction: 'received' | 'sent') => void

/**
 * A MessageStream of one protocol version's typed messages, reporting every frame's size (so a
 * protocol can count its bytes on the wire by message type).
 */
export class TypedMessageStream<M> {
  readonly ms: MessageStream
  readonly protocol: string
  private readonly codec: MessageCodec<M>
  onFrame?: FrameObserver<M>

  constructor (stream: Stream, protocol: string, codec: MessageCodec<M>, options: MessageStreamOptions) {
    this.ms = new MessageStream(stream, protocol, options)
    this.protocol = protocol
    this.codec = codec
  }

  async send (m: M, options: { signal?: AbortSignal } = {}): Promise<void> {
    const bytes = encode(this.codec.encode(m))
    await this.ms.writeEncoded([bytes], options)
    this.onFrame?.(m, frameLength(bytes.byteLength), 'sent')
  }

  async receive (options: { signal?: AbortSignal } = {}): Promise<M> {
    return this.decodeFrame(await this.ms.readFrame(options))
  }

  /** one frame read by a subclass's own fast path, decoded and reported as `receive` does */
  protected decodeFrame (frame: Uint8ArrayList): M {
    const m = this.codec.decode(this.ms.decode(frame))
    this.onFrame?.(m, frameLength(frame.byteLength), 'received')
    return m
  }
}

/** a frame's bytes on the stream: the varint length prefix and the body */
export function frameLength (body: number): number {
  let prefix = 1
  for (let n = body; n >= 0x80; n = Math.floor(n / 128)) prefix++
  return prefix + body
}
