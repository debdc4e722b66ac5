import type { SignedRecord } from '../../src/log/signed-record.ts'
import { hexOf, segmentRecord } from './block-list-segments.ts'
import { SEGMENT_MIN_ENTRIES } from './constants.ts'

/** Where an index/2 client looks for block-list segments it already holds. */
export interface SegmentLookup {
  /** the segment's bytes (entries as in a record) if some record we hold has it */
  get: (id: Uint8Array) => Uint8Array | undefined
}

/** The records a segment index is built from: a folder's record store. */
export interface SegmentSource {
  /** every path with a record */
  paths: () => Iterable<string>
  /** every record held of `path` (any device) */
  signedOf: (path: string) => Iterable<SignedRecord>
  /** called with the paths whose records changed; returns the unsubscribe */
  onChange: (listener: (paths: readonly string[]) => void) => () => void
}

interface Held {
  /** a view into the bytes of a record we hold: no copy */
  bytes: Uint8Array
  /** how many held records contain it */
  refs: number
}

/**
 * The segments of every record a folder store holds (any device, any path: older versions,
 * copies, renames), by segment id. Built on first use and kept current through the store's
 * change events, lazily: paths that changed are re-read at the next lookup. Holds views into the
 * store's record bytes, no copies; records with fewer than SEGMENT_MIN_ENTRIES blocks (one short
 * segment at most) are not indexed.
 */
export class SegmentIndex implements SegmentLookup {
  private readonly store: SegmentSource
  private readonly held = new Map<string, Held>()
  /** the segment ids each path's records contributed (with repeats) */
  private readonly byPath = new Map<string, string[]>()
  private readonly dirty = new Set<string>()
  private built = false

  constructor (store: SegmentSource) {
    this.store = store
    store.onChange(paths => {
      if (this.built) for (const p of paths) this.dirty.add(p)
    })
  }

  get (id: Uint8Array): Uint8Array | undefined {
    this.refresh()
    return this.held.get(hexOf(id))?.bytes
  }

  /** distinct segments held (for tests and logs) */
  get size (): number {
    this.refresh()
    return this.held.size
  }

  private refresh (): void {
    if (!this.built) {
      this.built = true
      for (const path of this.store.paths()) this.indexPath(path)
      return
    }
    for (const path of this.dirty) {
      this.unindexPath(path)
      this.indexPath(path)
    }
    this.dirty.clear()
  }

  private indexPath (path: string): void {
    const ids: string[] = []
    for (const s of this.store.signedOf(path)) this.indexRecord(s, ids)
    if (ids.length > 0) this.byPath.set(path, ids)
  }

  private indexRecord (s: SignedRecord, ids: string[]): void {
    if (s.record.blocks.length < SEGMENT_MIN_ENTRIES) return
    const cut = segmentRecord(s.bytes, s.record.blocks)
    if (cut === undefined) return
    for (const seg of cut.segments) {
      const key = hexOf(seg.id)
      const bytes = s.bytes.subarray(seg.offset, seg.offset + seg.length)
      const h = this.held.get(key)
      // the newest holder's bytes: views into superseded records are let go
      if (h === undefined) this.held.set(key, { bytes, refs: 1 })
      else { h.bytes = bytes; h.refs++ }
      ids.push(key)
    }
  }

  private unindexPath (path: string): void {
    for (const key of this.byPath.get(path) ?? []) {
      const h = this.held.get(key)
      if (h === undefined) continue
      if (--h.refs === 0) this.held.delete(key)
    }
    this.byPath.delete(path)
  }
}

/**
 * One segment index per record store, made on first use and kept for as long as the store
 * lives. Owned by whoever composes the clients and servers that look segments up (one per
 * daemon or relay), so that the index of a store is built once for all its sessions.
 */
export class SegmentIndexes {
  private readonly indexes = new WeakMap<SegmentSource, SegmentIndex>()

  /** the segment index of `store` (made on first call) */
  of (store: SegmentSource): SegmentIndex {
    let index = this.indexes.get(store)
    if (index === undefined) {
      index = new SegmentIndex(store)
      this.indexes.set(store, index)
    }
    return index
  }
}
