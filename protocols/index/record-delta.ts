import type { SignedRecord } from '../../src/log/signed-record.ts'
import { MAX_BATCH_PROOF_BYTES } from '../../src/log/batch-proof.ts'
import { MAX_RECORD_BYTES } from '../../src/log/record-codec.ts'
import { InvalidMessageError } from '../wire/errors.ts'
import { assembleRecord, hexOf, MAX_ENTRY_BYTES, MIN_ENTRY_BYTES, segmentId, segmentRecord, type RecordSegments } from './block-list-segments.ts'
import { isDeltaMessage, type DeltaMessage, type RecordItem } from './delta-messages.ts'
import type { SegmentLookup } from './segment-index.ts'
import {
  DEFAULT_DELTA_MIN_ENTRIES, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_RECORDS_PER_BATCH,
  DEFAULT_MAX_WANT_ENTRIES, DEFAULT_MAX_WANT_SEGMENTS
} from './constants.ts'

/**
 * Record deltas (docs/PROTOCOL.md §4.5; /ferry/index/2 from server to client, /ferry/replica/2
 * from device to relay): one `recs` batch, with long block lists sent as segment ids, and the
 * `want`/`segs` exchange that fills in what the receiver does not hold. The sender keeps the
 * batch's records until the `ack`, so every segment it announced can be served: no race with a
 * record superseded meanwhile.
 */

/**
 * The stream a batch runs on: a protocol with record deltas (`send` takes its delta messages,
 * `receive` yields any of its messages, M, delta messages included). Errors name `protocol`.
 */
export interface DeltaMessages<M extends { type: string }> {
  readonly protocol: string
  send: (m: DeltaMessage) => Promise<void>
  receive: () => Promise<M>
}

/**
 * Upper bound on a batch's records once reassembled, counted with the smallest entry size:
 * a sender flushes at DEFAULT_MAX_BATCH_BYTES (index/2 and replica/2 alike), which one record
 * (≤ MAX_RECORD_BYTES) may overshoot; a signature is at most a batch proof (MAX_BATCH_PROOF_BYTES). A sender announcing
 * more is refused before anything is asked.
 */
const MAX_BATCH_RECORD_BYTES = DEFAULT_MAX_BATCH_BYTES + MAX_RECORD_BYTES + DEFAULT_MAX_RECORDS_PER_BATCH * MAX_BATCH_PROOF_BYTES

/**
 * Sender: sends `batch` (skeletons for long block lists), answers `want`s until the receiver
 * says something else (its `ack`, which it returns for the caller to check). `minEntries`
 * Infinity sends every record whole (a version without deltas).
 */
export async function sendDeltaBatch<M extends { type: string }> (io: DeltaMessages<M>, batch: readonly SignedRecord[], minEntries = DEFAULT_DELTA_MIN_ENTRIES): Promise<M> {
  const bad = (why: string): never => { throw new InvalidMessageError(io.protocol, why) }
  const cuts: Array<RecordSegments | undefined> = []
  const items: RecordItem[] = batch.map(s => {
    const cut = s.record.blocks.length > minEntries ? segmentRecord(s.bytes, s.record.blocks) : undefined
    cuts.push(cut)
    return cut === undefined
      ? { kind: 'whole', bytes: s.bytes, signature: s.signature }
      : { kind: 'skeleton', head: cut.head, signature: s.signature, segments: cut.segments.map(g => ({ id: g.id, count: g.count })) }
  })
  await io.send({ type: 'recs', items })
  while (true) {
    const m = await io.receive()
    if (!isDeltaMessage(m)) return m
    if (m.type !== 'want') return bad(`expected want or ack, got ${m.type}`)
    const segments: Uint8Array[] = []
    let entries = 0
    for (const [item, indices] of m.wants) {
      const cut = cuts[item]
      const s = batch[item]
      if (cut === undefined || s === undefined) return bad(`want: item ${item} is not a skeleton`)
      for (const j of indices) {
        const seg = cut.segments[j]
        if (seg === undefined) return bad(`want: item ${item} has no segment ${j}`)
        entries += seg.count
        if (entries > DEFAULT_MAX_WANT_ENTRIES) bad('want: too many entries')
        segments.push(s.bytes.subarray(seg.offset, seg.offset + seg.length))
      }
    }
    await io.send({ type: 'segs', segments })
  }
}

export interface DeltaBatchStats {
  /** skeleton items in the batch */
  skeletons: number
  /** segments announced by skeletons */
  segments: number
  /** segments asked for (the rest came from records held here) */
  fetched: number
}

/**
 * Receiver: turns one batch into the exact signed pairs the author made, asking the
 * sender for the segments `local` (and the batch itself) does not have. The result still has to
 * go through openSignedRecord: a wrong head or segment list fails there, a segment whose bytes do
 * not hash to its id fails here (InvalidMessageError).
 */
export async function completeDeltaBatch<M extends { type: string }> (io: DeltaMessages<M>, items: readonly RecordItem[], local: SegmentLookup | undefined, stats?: DeltaBatchStats): Promise<Array<[Uint8Array, Uint8Array]>> {
  const bad = (why: string): never => { throw new InvalidMessageError(io.protocol, why) }
  let announced = 0
  for (const item of items) {
    if (item.kind === 'whole') {
      announced += item.bytes.byteLength + item.signature.byteLength
    } else {
      announced += item.head.byteLength + item.signature.byteLength
      for (const s of item.segments) announced += s.count * MIN_ENTRY_BYTES
    }
  }
  if (announced > MAX_BATCH_RECORD_BYTES) bad('recs: batch too large')

  /** every segment this batch needs, by id: views into held records or into `segs` messages */
  const found = new Map<string, Uint8Array>()
  let wants: Array<[number, number[]]> = []
  let wanted: Array<{ key: string, id: Uint8Array, count: number }> = []
  let wantEntries = 0
  const asked = new Set<string>()
  const ask = async (): Promise<void> => {
    await io.send({ type: 'want', wants })
    const m = await io.receive()
    if (!isDeltaMessage(m) || m.type !== 'segs') return bad(`expected segs, got ${m.type}`)
    if (m.segments.length !== wanted.length) bad(`segs: ${m.segments.length} segments for ${wanted.length} asked`)
    for (let i = 0; i < wanted.length; i++) {
      const w = wanted[i]!
      const bytes = m.segments[i]!
      if (bytes.byteLength < w.count * MIN_ENTRY_BYTES || bytes.byteLength > w.count * MAX_ENTRY_BYTES) bad('segs: segment length does not fit its entry count')
      if (hexOf(segmentId(bytes)) !== w.key) bad('segs: segment does not match its id')
      found.set(w.key, bytes)
    }
    if (stats !== undefined) stats.fetched += wanted.length
    wants = []
    wanted = []
    wantEntries = 0
  }
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    if (item.kind === 'whole') continue
    if (stats !== undefined) { stats.skeletons++; stats.segments += item.segments.length }
    for (let j = 0; j < item.segments.length; j++) {
      const { id, count } = item.segments[j]!
      const key = hexOf(id)
      if (found.has(key) || asked.has(key)) continue
      // taken now: the store may change while we wait for the sender
      const held = local?.get(id)
      if (held !== undefined) { found.set(key, held); continue }
      if (wantEntries + count > DEFAULT_MAX_WANT_ENTRIES || wanted.length === DEFAULT_MAX_WANT_SEGMENTS) await ask()
      asked.add(key)
      const last = wants[wants.length - 1]
      if (last !== undefined && last[0] === i) last[1].push(j)
      else wants.push([i, [j]])
      wanted.push({ key, id, count })
      wantEntries += count
    }
  }
  if (wanted.length > 0) await ask()

  return items.map(item => {
    if (item.kind === 'whole') return [item.bytes, item.signature]
    let entries = 0
    let length = item.head.byteLength
    const parts = item.segments.map(s => {
      const bytes = found.get(hexOf(s.id))
      if (bytes === undefined) throw new Error('segment neither held nor fetched')
      entries += s.count
      length += bytes.byteLength
      return bytes
    })
    if (length > MAX_RECORD_BYTES) bad('recs: reassembled record too large')
    return [assembleRecord(item.head, entries, parts), item.signature]
  })
}
