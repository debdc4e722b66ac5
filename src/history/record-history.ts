import { encode, decode } from 'cborg'
import type { FileRecord } from '../model/file-record.ts'
import { decodeStoredRecord, encodeSignedRecord, type SignedRecord } from '../log/signed-record.ts'
import { STRICT_CBOR } from '../log/record-codec.ts'
import type { FolderDb } from '../store/folder-store.ts'

/**
 * Superseded records, kept for the retention period so that old versions stay known: when a
 * newer record of the same (device, path) replaces one, the old one moves to
 * `h:<path>\0<device>\0<seq>` in the same batch. The value is `[supersededAtMs, envelope]`.
 */
const SEQ_DIGITS = 16
const PREFIX = 'h:'

export interface HistoryEntry { record: FileRecord, supersededAtMs: number, signed: SignedRecord }

export function historyKey (path: string, device: string, seq: number): string {
  return `${PREFIX}${path}\0${device}\0${String(seq).padStart(SEQ_DIGITS, '0')}`
}

/** The [key, value] that keeps `s` as history, superseded at `nowMs`. */
export function historyEntry (s: SignedRecord, nowMs: number): [string, Uint8Array] {
  return [historyKey(s.record.path, s.record.device, s.record.seq), encode([nowMs, encodeSignedRecord(s)])]
}

function decodeOuter (value: Uint8Array): [number, Uint8Array] {
  return decode(value, STRICT_CBOR) as [number, Uint8Array]
}

function decodeEntry (value: Uint8Array): HistoryEntry {
  const [supersededAtMs, envelope] = decodeOuter(value)
  const signed = decodeStoredRecord(envelope)
  return { record: signed.record, supersededAtMs, signed }
}

/** Every superseded record of `path` still kept. */
export async function readHistory (db: FolderDb, path: string): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = []
  for await (const value of db.values({ gte: `${PREFIX}${path}\0`, lt: `${PREFIX}${path}\u0001` })) out.push(decodeEntry(value))
  return out
}

/** Deletes history superseded before `beforeMs`; returns how many entries went. */
export async function pruneHistory (db: FolderDb, beforeMs: number): Promise<number> {
  const stale: string[] = []
  for await (const [key, value] of db.iterator({ gte: PREFIX, lt: 'h;' })) {
    if (decodeOuter(value)[0] < beforeMs) stale.push(key)
  }
  if (stale.length > 0) await db.batch(stale.map(key => ({ type: 'del' as const, key })))
  return stale.length
}
