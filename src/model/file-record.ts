import type { CID } from 'multiformats/cid'
import type { VersionVector } from './version-vector.ts'
import { cidKey } from '../hashing/block-cid.ts'

export type EntryType = 'file' | 'dir'

export interface BlockRef {
  readonly cid: CID
  readonly size: number
}

/**
 * One device's statement about one path of one folder: "my copy of `path` is this version".
 * Records are appended to the device's signed log; only the newest per (device, path) is kept.
 */
export interface FileRecord {
  readonly folder: string
  /** device whose log this record belongs to (and who signed it) */
  readonly device: string
  /** position in `device`'s log, strictly increasing */
  readonly seq: number
  readonly path: string
  readonly type: EntryType
  readonly size: number
  /** permission bits (0o777 mask), applied as they are on other devices (file-mode.ts; 0: 0644) */
  readonly mode: number
  readonly mtimeMs: number
  readonly deleted: boolean
  /** device that made this version's content (differs from `device` when adopted from a peer) */
  readonly modifiedBy: string
  readonly version: VersionVector
  readonly blocks: readonly BlockRef[]
}

/**
 * Executable bits are content (a concurrent change of them is a conflict); the other bits are
 * not: a version that changes only them is adopted, bits included (file-mode.ts).
 */
export const EXEC_BITS = 0o111

/**
 * What must match for two records to describe the same content: type, deletion, exec bits and
 * the ordered block list. Two concurrent versions with equal content are not a conflict.
 */
export function contentKey (r: Pick<FileRecord, 'deleted' | 'type' | 'mode' | 'size' | 'blocks'>): string {
  if (r.deleted) return 'deleted'
  if (r.type === 'dir') return 'dir'
  const exec = (r.mode & EXEC_BITS) !== 0 ? 'x' : '-'
  return `file:${exec}:${r.size}:${r.blocks.map(b => cidKey(b.cid)).join(',')}`
}

export function sameContent (a: FileRecord, b: FileRecord): boolean {
  return contentKey(a) === contentKey(b)
}

/** Each distinct block of `r` once, with every offset it sits at (a block may repeat in a file). */
export function blockOffsets (r: Pick<FileRecord, 'blocks'>): Map<string, { cid: BlockRef['cid'], size: number, at: number[] }> {
  const out = new Map<string, { cid: BlockRef['cid'], size: number, at: number[] }>()
  let offset = 0
  for (const b of r.blocks) {
    const k = cidKey(b.cid)
    const entry = out.get(k)
    if (entry === undefined) out.set(k, { cid: b.cid, size: b.size, at: [offset] })
    else entry.at.push(offset)
    offset += b.size
  }
  return out
}
