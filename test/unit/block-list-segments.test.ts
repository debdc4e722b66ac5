import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { encodeRecord, decodeRecord } from '../../src/log/record-codec.ts'
import type { BlockRef } from '../../src/model/file-record.ts'
import {
  assembleRecord, cutBlockList, hexOf, segmentRecord, type RecordSegments
} from '../../protocols/index/block-list-segments.ts'
import { SEGMENT_MAX_ENTRIES, SEGMENT_MIN_ENTRIES } from '../../protocols/index/constants.ts'
import { fileRecordOf, syntheticBlock, syntheticBlocks } from '../helpers/synthetic-records.ts'

const DEVICE = '12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5'

function recordBytes (blocks: readonly BlockRef[], seq = 1): Uint8Array {
  return encodeRecord(fileRecordOf(blocks, { folder: 'docs', device: DEVICE, seq }))
}

function cut (blocks: readonly BlockRef[], seq = 1): { bytes: Uint8Array, cut: RecordSegments } {
  const bytes = recordBytes(blocks, seq)
  const c = segmentRecord(bytes, decodeRecord(bytes).blocks)
  if (c === undefined) throw new Error('record not segmented')
  return { bytes, cut: c }
}

function reassemble (c: RecordSegments, bytes: Uint8Array): Uint8Array {
  return assembleRecord(c.head, c.entries, c.segments.map(s => bytes.subarray(s.offset, s.offset + s.length)))
}

const ids = (c: RecordSegments): string[] => c.segments.map(s => hexOf(s.id))
/** segments of `after` that `before` does not have */
const fresh = (before: RecordSegments, after: RecordSegments): number => {
  const had = new Set(ids(before))
  return ids(after).filter(id => !had.has(id)).length
}

describe('block list segments', () => {
  it('cuts 20,000 entries into segments of 16..128 entries, the last possibly shorter, averaging near 68', () => {
    const counts = cutBlockList(syntheticBlocks(20_000, 'cut'))
    expect(counts.reduce((a, b) => a + b, 0)).toBe(20_000)
    expect(counts.slice(0, -1).every(n => n >= SEGMENT_MIN_ENTRIES && n <= SEGMENT_MAX_ENTRIES)).toBe(true)
    expect(counts.at(-1)!).toBeLessThanOrEqual(SEGMENT_MAX_ENTRIES)
    const mean = 20_000 / counts.length
    expect(mean).toBeGreaterThan(55)
    expect(mean).toBeLessThan(85)
  })

  it('reassembles the exact record bytes from head and segments', () => {
    const blocks = syntheticBlocks(5_000, 'exact')
    const { bytes, cut: c } = cut(blocks)
    expect(c.entries).toBe(5_000)
    expect(c.segments.reduce((n, s) => n + s.count, 0)).toBe(5_000)
    expect(Buffer.from(reassemble(c, bytes)).equals(Buffer.from(bytes))).toBe(true)
  })

  it('an edit of 4 entries in the middle changes at most 2 segments; the rest keep their ids', () => {
    const blocks = syntheticBlocks(4_096, 'edit')
    const edited = [...blocks]
    for (let i = 2_000; i < 2_004; i++) edited[i] = syntheticBlock(`edited/${i}`)
    const before = cut(blocks).cut
    const after = cut(edited, 2).cut
    expect(fresh(before, after)).toBeGreaterThanOrEqual(1)
    expect(fresh(before, after)).toBeLessThanOrEqual(2)
    expect(after.segments.length).toBeGreaterThan(30)
  })

  it('an entry inserted at the start changes only the first segments, not all that follow', () => {
    const blocks = syntheticBlocks(4_096, 'insert')
    const before = cut(blocks).cut
    const after = cut([syntheticBlock('inserted'), ...blocks], 2).cut
    expect(fresh(before, after)).toBeLessThanOrEqual(2)
    // appending and removing behave the same
    expect(fresh(before, cut([...blocks, syntheticBlock('appended')], 3).cut)).toBeLessThanOrEqual(1)
    expect(fresh(before, cut(blocks.slice(1), 4).cut)).toBeLessThanOrEqual(2)
  })

  it('property: any list reassembles exactly, and any local edit leaves all but a few segments as they were', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 2_000 }),
      fc.string({ maxLength: 8 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 8 }),
      (n, seed, where, removed, inserted) => {
        const blocks = syntheticBlocks(n, seed)
        const { bytes, cut: c } = cut(blocks)
        expect(Buffer.from(reassemble(c, bytes)).equals(Buffer.from(bytes))).toBe(true)
        const at = Math.floor(where * n)
        const edited = [...blocks.slice(0, at), ...syntheticBlocks(inserted, `${seed}+`), ...blocks.slice(at + removed)]
        if (edited.length === 0) return
        const e = cut(edited, 2)
        expect(Buffer.from(reassemble(e.cut, e.bytes)).equals(Buffer.from(e.bytes))).toBe(true)
        // an edit touches the segment it lands in, the one before (whose end may move) and, when
        // the cut resynchronises late, one or two after; never the whole list
        expect(fresh(c, e.cut)).toBeLessThanOrEqual(4)
      }
    ), { numRuns: 100, seed: 20261122 })
  })

  it('a record whose bytes do not end with its block list is not segmented', () => {
    const blocks = syntheticBlocks(300, 'mismatch')
    const bytes = recordBytes(blocks)
    expect(segmentRecord(bytes, blocks.slice(1))).toBeUndefined()
    expect(segmentRecord(bytes.subarray(0, 10), blocks)).toBeUndefined()
  })
})
