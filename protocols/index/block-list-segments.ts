import { createHash } from 'node:crypto'
import type { BlockRef } from '../../src/model/file-record.ts'
import {
  SEGMENT_BOUNDARY_MODULUS, SEGMENT_MAX_ENTRIES, SEGMENT_MIN_ENTRIES
} from './constants.ts'

/**
 * Content-defined segments of a record's block list (docs/PROTOCOL.md §4.5).
 *
 * A record's block list is the last field of its canonical CBOR bytes (src/log/record-codec.ts),
 * so the bytes are `head ‖ arrayHeader(n) ‖ entry₀ ‖ … ‖ entryₙ₋₁` and a run of entries is a
 * contiguous byte range. The list is cut where the entries themselves say (a block's digest),
 * not at fixed positions, so an edit changes only the segments around it and an insertion does
 * not shift the others. A segment is named by the sha2-256 of its entries' bytes: a receiver
 * that holds any record with that run of entries (an older version, another device's copy, a
 * renamed file) has the segment, and the reassembled bytes are exactly what the author signed.
 */

export interface BlockListSegment {
  /** where the segment's entries start in the record bytes */
  readonly offset: number
  /** bytes of the segment's entries */
  readonly length: number
  /** entries in the segment */
  readonly count: number
  /** sha2-256 of the segment's bytes */
  readonly id: Uint8Array
}

export interface RecordSegments {
  /** the record bytes before the block list's array header */
  readonly head: Uint8Array
  /** entries in the whole block list */
  readonly entries: number
  readonly segments: readonly BlockListSegment[]
}

const MAJOR_ARRAY = 4
/** an entry is [bytes(36), uint]: 0x82, 0x58 0x24, the cid, the size's head */
const CID_BYTES = 36
export const MIN_ENTRY_BYTES = 1 + 2 + CID_BYTES + 1
export const MAX_ENTRY_BYTES = 1 + 2 + CID_BYTES + 5

/** bytes of a CBOR head (major type + argument) for `value` */
export function cborHeadLength (value: number): number {
  return value < 24 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : value < 2 ** 32 ? 5 : 9
}

/** the CBOR head of an array of `count` items (counts here stay below 2^32) */
export function arrayHeader (count: number): Uint8Array {
  const m = MAJOR_ARRAY << 5
  if (count < 24) return Uint8Array.of(m | count)
  if (count < 0x100) return Uint8Array.of(m | 24, count)
  if (count < 0x10000) return Uint8Array.of(m | 25, count >>> 8, count & 0xff)
  return Uint8Array.of(m | 26, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff)
}

/** the byte length of one entry as encodeRecord writes it */
function entryLength (b: BlockRef): number {
  const cid = b.cid.bytes.byteLength
  return 1 + cborHeadLength(cid) + cid + cborHeadLength(b.size)
}

/** true if a segment may end after this block: decided by its digest only */
function isBoundary (b: BlockRef): boolean {
  const d = b.cid.multihash.digest
  return (((d[0] ?? 0) << 8) | (d[1] ?? 0)) % SEGMENT_BOUNDARY_MODULUS === 0
}

/**
 * The entry counts of the segments `blocks` is cut into: a segment ends after a boundary entry
 * once it has SEGMENT_MIN_ENTRIES, and always at SEGMENT_MAX_ENTRIES; the rest is the last.
 */
export function cutBlockList (blocks: readonly BlockRef[]): number[] {
  const counts: number[] = []
  let run = 0
  for (const b of blocks) {
    run++
    if ((run >= SEGMENT_MIN_ENTRIES && isBoundary(b)) || run === SEGMENT_MAX_ENTRIES) {
      counts.push(run)
      run = 0
    }
  }
  if (run > 0) counts.push(run)
  return counts
}

export function segmentId (bytes: Uint8Array): Uint8Array {
  const d = createHash('sha256').update(bytes).digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/**
 * Cuts a record's canonical bytes into head and block-list segments. `blocks` is the decoded
 * block list of `bytes`. Undefined if the bytes do not end with that list as encodeRecord writes
 * it (never for a record that passed decodeRecord; the caller then sends the record whole).
 */
export function segmentRecord (bytes: Uint8Array, blocks: readonly BlockRef[]): RecordSegments | undefined {
  let entriesBytes = 0
  for (const b of blocks) entriesBytes += entryLength(b)
  const header = arrayHeader(blocks.length)
  const entriesOffset = bytes.byteLength - entriesBytes
  const headLength = entriesOffset - header.byteLength
  if (headLength <= 0) return undefined
  for (let i = 0; i < header.byteLength; i++) if (bytes[headLength + i] !== header[i]) return undefined
  const segments: BlockListSegment[] = []
  let at = entriesOffset
  let entry = 0
  for (const count of cutBlockList(blocks)) {
    let length = 0
    for (let i = 0; i < count; i++) length += entryLength(blocks[entry + i]!)
    const view = bytes.subarray(at, at + length)
    // the entry must start where we think it does: [bytes(36), …]
    if (view[0] !== 0x82) return undefined
    segments.push({ offset: at, length, count, id: segmentId(view) })
    at += length
    entry += count
  }
  return { head: bytes.subarray(0, headLength), entries: blocks.length, segments }
}

/** The record bytes from a head and its segments' bytes, in order: `head ‖ arrayHeader(entries) ‖ segments`. */
export function assembleRecord (head: Uint8Array, entries: number, segments: readonly Uint8Array[]): Uint8Array {
  const header = arrayHeader(entries)
  let length = head.byteLength + header.byteLength
  for (const s of segments) length += s.byteLength
  const out = new Uint8Array(length)
  out.set(head, 0)
  out.set(header, head.byteLength)
  let at = head.byteLength + header.byteLength
  for (const s of segments) {
    out.set(s, at)
    at += s.byteLength
  }
  return out
}

export function hexOf (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
