import { createHash } from 'node:crypto'
import { blockCidOfDigest } from '../../src/hashing/block-cid.ts'
import type { BlockRef, FileRecord } from '../../src/model/file-record.ts'

/**
 * Block lists and records made without files: block ids from sha2-256 of a seed and an index
 * (deterministic, and as random as real digests), sizes of 64 KiB..1 MiB.
 */
export function syntheticBlocks (count: number, seed: string, first = 0): BlockRef[] {
  return Array.from({ length: count }, (_, i) => syntheticBlock(`${seed}/${first + i}`))
}

export function syntheticBlock (name: string): BlockRef {
  const digest = createHash('sha256').update(name).digest()
  return { cid: blockCidOfDigest(digest), size: 65_536 + (digest.readUInt32BE(0) % (1_048_576 - 65_536 + 1)) }
}

/** a live file record over `blocks` (size is their sum) */
export function fileRecordOf (blocks: readonly BlockRef[], fields: Pick<FileRecord, 'folder' | 'device' | 'seq'> & Partial<FileRecord>): FileRecord {
  return {
    path: 'big/file.bin',
    type: 'file',
    size: blocks.reduce((n, b) => n + b.size, 0),
    mode: 0o644,
    mtimeMs: 1_767_225_600_000,
    deleted: false,
    modifiedBy: fields.device,
    version: { [fields.device]: fields.seq },
    blocks,
    ...fields
  }
}
