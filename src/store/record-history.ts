import { encode, decode } from 'cborg'
import type { FileRecord } from '../model/file-record.ts'
import { decodeStoredRecord, encodeSignedRecord, type SignedRecord } from '../log/signed-record.ts'
import { STRICT_CBOR } from '../log/record-codec.ts'
import { FerryError } from '../errors.ts'
import { HISTORY, historyKey, historyOfPathRange, type FolderDb } from './keys.ts'

/**
 * Superseded records, kept for the retention period so that old versions stay known: when a
 * newer record of the same (device, path) replaces one, the old one moves to history in the
 * same batch (src/store/keys.ts). The value is `[supersededAtMs, envelope]`.
 */
export interface HistoryEntry {
  record: FileRecord
  supersededAtMs: number
  signed: SignedRecord
}

/** The [key, value] that keeps `s` as history, superseded at `nowMs`. */
export function historyEntry (s: SignedRecord, nowMs: number): [string, Uint8Array] {
  return [historyKey(s.record.path, s.record.device, s.record.seq), encode([nowMs, encodeSignedRecord(s)])]
}

/** The superseded time and signed envelope of a history value; throws if malformed. */
export function decodeHistoryValue (key: string, value: Uint8Array): { supersededAtMs: number, envelope: Uint8Array } {
  const v = decode(value, STRICT_CBOR) as unknown
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || !(v[1] instanceof Uint8Array)) {
    throw new FerryError(`history entry ${key} is malformed`, 'ERR_FERRY_BAD_HISTORY')
  }
  return { supersededAtMs: v[0], envelope: v[1] }
}

function decodeEntry (key: string, value: Uint8Array): HistoryEntry {
  const { supersededAtMs, envelope } = decodeHistoryValue(key, value)
  const signed = decodeStoredRecord(envelope)
  return { record: signed.record, supersededAtMs, signed }
}

/** Every superseded record of `path` still kept. */
export async function readHistory (db: FolderDb, path: string): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = []
  for await (const [key, value] of db.iterator(historyOfPathRange(path))) out.push(decodeEntry(key, value))
  return out
}

/** Every superseded record still kept, in key order. */
export async function * allHistory (db: FolderDb): AsyncGenerator<HistoryEntry> {
  for await (const [key, value] of db.iterator(HISTORY)) yield decodeEntry(key, value)
}

/** Deletes the history entries `expired` picks by their superseded time; returns how many went. */
export async function expireHistory (db: FolderDb, expired: (supersededAtMs: number) => boolean, writeOptions: Record<string, unknown>): Promise<number> {
  const stale: string[] = []
  for await (const [key, value] of db.iterator(HISTORY)) {
    if (expired(decodeHistoryValue(key, value).supersededAtMs)) stale.push(key)
  }
  if (stale.length > 0) await db.batch(stale.map(key => ({ type: 'del' as const, key })), writeOptions)
  return stale.length
}
