import { INDEX_PROTOCOL_V2, DEFAULT_MAX_RECORDS_PER_BATCH, DEFAULT_MAX_WANT_SEGMENTS, SEGMENT_ID_BYTES, SEGMENT_MAX_ENTRIES } from './constants.ts'
import { decodeIndexMessage, encodeIndexMessage, type IndexMessage } from './messages.ts'
import { MAX_BLOCKS_PER_RECORD, MAX_RECORD_BYTES } from '../../src/log/record-codec.ts'
import { MAX_ENTRY_BYTES, MIN_ENTRY_BYTES } from './block-list-segments.ts'
import { InvalidMessageError } from '../wire/errors.ts'
import { fieldReaders } from '../wire/fields.ts'
import type { MessageCodec } from '../wire/typed-message-stream.ts'

/** a record sent as is, as in index/1 */
export interface WholeRecordItem { kind: 'whole', bytes: Uint8Array, signature: Uint8Array }
/** a record sent as its bytes before the block list, and the list's segments by id */
export interface SkeletonRecordItem {
  kind: 'skeleton'
  head: Uint8Array
  signature: Uint8Array
  segments: Array<{ id: Uint8Array, count: number }>
}
export type RecordItem = WholeRecordItem | SkeletonRecordItem

/**
 * The messages record deltas add to a protocol (docs/PROTOCOL.md §4.5; used by /ferry/index/2
 * and /ferry/replica/2). The sender of records is S, their receiver R:
 *   S -> R  ['recs', [[recordBytes, signature] | [head, signature, [[segmentId, count], ...]], ...]]
 *   R -> S  ['want', [[itemIndex, [segmentIndex, ...]], ...]]   between a recs and its ack, one unanswered
 *   S -> R  ['segs', [segmentBytes, ...]]   the asked segments, in the order asked
 */
export type DeltaMessage =
  | { type: 'recs', items: RecordItem[] }
  | { type: 'want', wants: Array<[item: number, segments: number[]]> }
  | { type: 'segs', segments: Uint8Array[] }

/** the `recs` of a version without deltas: whole records only */
interface WholeRecords { type: 'recs', records: Array<[Uint8Array, Uint8Array]> }

/** a protocol's messages with its whole-record `recs` replaced by the delta messages */
export type WithDeltas<M extends { type: string }> = Exclude<M, { type: 'recs' }> | DeltaMessage

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

export function isDeltaMessage (m: { type: string }): m is DeltaMessage {
  return m.type === 'recs' || m.type === 'want' || m.type === 'segs'
}

function encodeDeltaMessage (m: DeltaMessage): unknown[] {
  switch (m.type) {
    case 'recs': return ['recs', m.items.map(i => i.kind === 'whole'
      ? [i.bytes, i.signature]
      : [i.head, i.signature, i.segments.map(s => [s.id, s.count])])]
    case 'want': return ['want', m.wants]
    case 'segs': return ['segs', m.segments]
  }
}

/** recs, want and segs as the delta version of `protocol` checks them; undefined for other tags */
function deltaDecoder (protocol: string): (v: [string, ...unknown[]]) => DeltaMessage | undefined {
  const { bad } = fieldReaders(protocol)

  const skeletonOf = (v: unknown[]): SkeletonRecordItem => {
    const [head, signature, list] = v
    if (!isBytes(head) || !isBytes(signature) || !Array.isArray(list)) return bad('recs: bad skeleton')
    if (head.byteLength === 0 || head.byteLength > MAX_RECORD_BYTES) bad('recs: bad skeleton head')
    if (list.length === 0 || list.length > MAX_BLOCKS_PER_RECORD) bad('recs: bad segment list')
    const segments: SkeletonRecordItem['segments'] = []
    let entries = 0
    for (const s of list as unknown[]) {
      if (!Array.isArray(s) || s.length !== 2) bad('recs: bad segment')
      const [id, count] = s as unknown[]
      if (!isBytes(id) || id.byteLength !== SEGMENT_ID_BYTES) bad('recs: bad segment id')
      if (!isIndex(count) || count === 0 || count > SEGMENT_MAX_ENTRIES) bad('recs: bad segment entry count')
      entries += count as number
      segments.push({ id: id as Uint8Array, count: count as number })
    }
    if (entries > MAX_BLOCKS_PER_RECORD) bad('recs: too many block entries')
    return { kind: 'skeleton', head, signature, segments }
  }

  return v => {
    const [tag, ...rest] = v
    switch (tag) {
      case 'recs': {
        if (rest.length !== 1 || !Array.isArray(rest[0])) return bad('recs: expected [records]')
        const list = rest[0] as unknown[]
        if (list.length === 0 || list.length > DEFAULT_MAX_RECORDS_PER_BATCH) bad('recs: bad batch size')
        const items: RecordItem[] = list.map(r => {
          if (!Array.isArray(r)) return bad('recs: bad record item')
          if (r.length === 2 && isBytes(r[0]) && isBytes(r[1])) return { kind: 'whole', bytes: r[0], signature: r[1] }
          if (r.length === 3) return skeletonOf(r)
          return bad('recs: bad record item')
        })
        return { type: 'recs', items }
      }
      case 'want': {
        if (rest.length !== 1 || !Array.isArray(rest[0])) return bad('want: expected [wants]')
        const list = rest[0] as unknown[]
        if (list.length === 0 || list.length > DEFAULT_MAX_RECORDS_PER_BATCH) bad('want: bad item count')
        let total = 0
        const wants: Array<[number, number[]]> = list.map(w => {
          if (!Array.isArray(w) || w.length !== 2 || !isIndex(w[0]) || !Array.isArray(w[1])) return bad('want: bad item')
          const segments = w[1] as unknown[]
          if (segments.length === 0) bad('want: no segments')
          total += segments.length
          if (total > DEFAULT_MAX_WANT_SEGMENTS) bad('want: too many segments')
          if (!segments.every(isIndex)) bad('want: bad segment index')
          return [w[0], segments as number[]]
        })
        return { type: 'want', wants }
      }
      case 'segs': {
        if (rest.length !== 1 || !Array.isArray(rest[0])) return bad('segs: expected [segments]')
        const list = rest[0] as unknown[]
        if (list.length === 0 || list.length > DEFAULT_MAX_WANT_SEGMENTS) bad('segs: bad segment count')
        for (const s of list) {
          if (!isBytes(s) || s.byteLength < MIN_ENTRY_BYTES || s.byteLength > SEGMENT_MAX_ENTRIES * MAX_ENTRY_BYTES) bad('segs: bad segment')
        }
        return { type: 'segs', segments: list as Uint8Array[] }
      }
      default:
        return undefined
    }
  }
}

/**
 * The delta version (`protocol`) of a protocol whose version without deltas has the schema
 * `base`: `recs` items may be skeletons, `want` and `segs` are added, every other message is
 * `base`'s.
 */
export function withDeltas<M extends { type: string }> (protocol: string, base: MessageCodec<M>): MessageCodec<WithDeltas<M>> {
  const decodeDelta = deltaDecoder(protocol)
  return {
    encode: m => isDeltaMessage(m) ? encodeDeltaMessage(m) : base.encode(m as M),
    decode: v => decodeDelta(v) ?? base.decode(v) as WithDeltas<M>
  }
}

/**
 * The version without deltas (`protocol`, schema `base`) seen through the delta types, so one
 * protocol implementation serves both: `recs` items are always whole, and sending a skeleton,
 * `want` or `segs` on it is a bug (an Error, nothing sent).
 */
export function wholeRecordsOnly<M extends { type: string }> (protocol: string, base: MessageCodec<M>): MessageCodec<WithDeltas<M>> {
  return {
    encode: m => {
      if (m.type === 'want' || m.type === 'segs') throw new InvalidMessageError(protocol, `${m.type} is not part of this protocol version`)
      if (m.type !== 'recs') return base.encode(m as M)
      return ['recs', (m as Extract<DeltaMessage, { type: 'recs' }>).items.map(i => {
        if (i.kind !== 'whole') throw new Error(`${protocol} sends records whole`)
        return [i.bytes, i.signature]
      })]
    },
    decode: v => {
      const m = base.decode(v)
      if (m.type !== 'recs') return m as WithDeltas<M>
      return { type: 'recs', items: (m as unknown as WholeRecords).records.map(([bytes, signature]) => ({ kind: 'whole', bytes, signature })) }
    }
  }
}

/** /ferry/index/2's schema (docs/PROTOCOL.md §4.5): index/1's messages with record deltas */
export type IndexMessageV2 = WithDeltas<IndexMessage>

/** /ferry/index/1's schema */
export const indexCodec: MessageCodec<IndexMessage> = { encode: encodeIndexMessage, decode: decodeIndexMessage }
export const indexCodecV2 = withDeltas(INDEX_PROTOCOL_V2, indexCodec)

export function encodeIndexMessageV2 (m: IndexMessageV2): unknown[] {
  return indexCodecV2.encode(m)
}

export function decodeIndexMessageV2 (v: [string, ...unknown[]]): IndexMessageV2 {
  return indexCodecV2.decode(v)
}
