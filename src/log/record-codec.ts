import { encode, decode } from 'cborg'
import { encodeRecordFields, type RecordFields } from './record-encoder.ts'
import type { BlockRef, FileRecord } from '../model/file-record.ts'
import { decodeBlockCid } from '../hashing/block-cid.ts'
import { validatePath } from '../model/paths.ts'
import { FerryError } from '../errors.ts'
import { DEFAULT_CHUNKER_PARAMS } from '../chunker/constants.ts'

/** Bumped whenever the record layout changes; part of what is signed. */
export const RECORD_FORMAT = 1
export const MAX_RECORD_BYTES = 12 * 1024 * 1024
/** 10 GiB of 64 KiB minimum-size blocks, with headroom */
export const MAX_BLOCKS_PER_RECORD = 200_000
export const MAX_VERSION_ENTRIES = 1024
export const MAX_ID_LENGTH = 256
export const MAX_FILE_SIZE = 16 * 1024 ** 4
/** the chunker's largest block: the largest plaintext block */
export const MAX_PLAIN_BLOCK_BYTES = DEFAULT_CHUNKER_PARAMS.maxBytes
/** bytes a sealed block adds to its padded plaintext (the AEAD tag, src/crypto/block-seal.ts) */
export const SEALED_BLOCK_OVERHEAD_BYTES = 16
/** the largest block anywhere (a sealed one on a relay); the blocks protocol carries no more */
export const MAX_BLOCK_BYTES = MAX_PLAIN_BLOCK_BYTES + SEALED_BLOCK_OVERHEAD_BYTES

export class InvalidRecordError extends FerryError {
  constructor (reason: string) {
    super(`invalid record: ${reason}`, 'ERR_FERRY_INVALID_RECORD')
  }
}

/** CBOR decode options shared by every ferry codec: strict, no surprises. */
export const STRICT_CBOR = {
  strict: true,
  allowUndefined: false,
  allowIndefinite: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false
} as const

export function encodeRecord (r: FileRecord): Uint8Array {
  const version = Object.entries(r.version).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  const fields: RecordFields = [
    RECORD_FORMAT, r.folder, r.device, r.seq, r.path, r.type === 'dir' ? 1 : 0, r.size, r.mode,
    r.mtimeMs, r.deleted, r.modifiedBy, version, r.blocks.map(b => [b.cid.bytes, b.size] as const)
  ]
  // the same bytes as cborg's encoding of `fields`, written directly (record-encoder.ts)
  return encodeRecordFields(fields) ?? encode(fields)
}

function fail (reason: string): never { throw new InvalidRecordError(reason) }

function str (v: unknown, what: string, max = MAX_ID_LENGTH): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(`${what} must be a non-empty string`)
  return v
}

function uint (v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) fail(`${what} must be an integer in [0, ${max}]`)
  return v
}

/**
 * Strict decoder: any deviation from the schema is an InvalidRecordError. `trusted` skips only
 * the check that the bytes are in canonical form (a second encoding of the record): for bytes
 * from our own database, which were checked that way before they were stored.
 */
export function decodeRecord (bytes: Uint8Array, options: { trusted?: boolean } = {}): FileRecord {
  if (bytes.byteLength > MAX_RECORD_BYTES) fail(`too large (${bytes.byteLength} bytes)`)
  let v: unknown
  try { v = decode(bytes, STRICT_CBOR) } catch (err) { fail(`bad CBOR: ${(err as Error).message}`) }
  if (!Array.isArray(v) || v.length !== 13) fail('not a 13-element array')
  const [format, folder, device, seq, path, type, size, mode, mtimeMs, deleted, modifiedBy, version, blocks] = v as unknown[]
  if (format !== RECORD_FORMAT) fail(`unknown format ${String(format)}`)
  if (type !== 0 && type !== 1) fail('type must be 0 (file) or 1 (dir)')
  if (typeof deleted !== 'boolean') fail('deleted must be a boolean')
  if (!Array.isArray(version) || version.length > MAX_VERSION_ENTRIES) fail('bad version vector')
  const vv: Record<string, number> = {}
  for (const entry of version as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2) fail('bad version entry')
    const dev = str(entry[0], 'version device')
    if (dev in vv) fail('duplicate version entry')
    vv[dev] = uint(entry[1], 'version counter')
    if (vv[dev] === 0) fail('version counters start at 1')
  }
  if (!Array.isArray(blocks) || blocks.length > MAX_BLOCKS_PER_RECORD) fail('bad block list')
  const refs: BlockRef[] = []
  let total = 0
  for (const b of blocks as unknown[]) {
    if (!Array.isArray(b) || b.length !== 2 || !(b[0] instanceof Uint8Array)) fail('bad block entry')
    let cid
    try { cid = decodeBlockCid(b[0]) } catch { fail('bad block cid') }
    const blockSize = uint(b[1], 'block size', MAX_BLOCK_BYTES)
    if (blockSize === 0) fail('empty block')
    total += blockSize
    refs.push({ cid, size: blockSize })
  }
  let validPath: string
  try { validPath = validatePath(str(path, 'path', 8192)) } catch (err) { fail((err as Error).message) }
  if (validPath !== path) fail('path not in canonical form')
  const record: FileRecord = {
    folder: str(folder, 'folder'),
    device: str(device, 'device'),
    seq: uint(seq, 'seq'),
    path: validPath,
    type: type === 1 ? 'dir' : 'file',
    size: uint(size, 'size', MAX_FILE_SIZE),
    mode: uint(mode, 'mode', 0o7777),
    mtimeMs: uint(mtimeMs, 'mtime'),
    deleted,
    modifiedBy: str(modifiedBy, 'modifiedBy'),
    version: vv,
    blocks: refs
  }
  if (record.type === 'file' && !record.deleted && total !== record.size) fail('block sizes do not add up to size')
  if ((record.type === 'dir' || record.deleted) && refs.length > 0) fail('only live files have blocks')
  if (record.seq === 0) fail('seq starts at 1')
  // one record, one byte form: what the author signed must be what we would encode
  if (options.trusted !== true && !equalBytes(encodeRecord(record), bytes)) fail('not in canonical encoding')
  return record
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
