import type { Stream } from '@libp2p/interface'
import { TypedMessageStream, frameLength } from '../wire/typed-message-stream.ts'
import { decodeBlkFrame, encodeBlkHeader } from '../blocks/messages.ts'
import { contiguous } from '../blocks/block-bytes.ts'
import { replicaCodecV1, replicaCodecV2, type ReplicaMessageV2 } from './messages.ts'
import { REPLICA_PROTOCOL_V1, REPLICA_PROTOCOL_V2, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_UNACKED_BYTES } from './constants.ts'

/** Which protocol version runs on a stream. */
export interface ReplicaStreamOptions {
  /** the negotiated protocol id; default `stream.protocol`, else replica/2 (in-memory test pairs have none) */
  protocol?: string
}

/**
 * One session's messages, in either version: replica/1 streams use the replica/1 schema (whole
 * records, no `want`/`segs`), replica/2 streams the replica/2 one.
 */
export class ReplicaMessages extends TypedMessageStream<ReplicaMessageV2> {
  readonly v2: boolean

  constructor (stream: Stream, options: ReplicaStreamOptions) {
    const protocol = options.protocol ?? stream.protocol ?? REPLICA_PROTOCOL_V2
    const v2 = protocol !== REPLICA_PROTOCOL_V1
    super(stream, protocol, v2 ? replicaCodecV2 : replicaCodecV1, {
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      // the uploader keeps up to DEFAULT_MAX_UNACKED_BYTES of blocks in flight behind a message
      maxBufferedBytes: DEFAULT_MAX_UNACKED_BYTES + DEFAULT_MAX_MESSAGE_BYTES
    })
    this.v2 = v2
  }

  /** a block goes as its CBOR header followed by its bytes, never copied into a message buffer (same bytes on the wire) */
  override async send (m: ReplicaMessageV2, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (m.type !== 'blk') { await super.send(m, options); return }
    const header = encodeBlkHeader(m.cid, m.data.byteLength)
    await this.ms.writeEncoded([header, m.data], options)
    this.onFrame?.(m, frameLength(header.byteLength + m.data.byteLength), 'sent')
  }

  /** a block is parsed straight from the frame's pieces (at most one copy, none through a CBOR decoder) */
  override async receive (options: { signal?: AbortSignal } = {}): Promise<ReplicaMessageV2> {
    const frame = await this.ms.readFrame(options)
    const blk = decodeBlkFrame(frame)
    if (blk === undefined) return this.decodeFrame(frame)
    const m: ReplicaMessageV2 = { type: 'blk', cid: blk.cid, data: contiguous(blk.data) }
    this.onFrame?.(m, frameLength(frame.byteLength), 'received')
    return m
  }
}

