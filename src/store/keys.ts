import type { AbstractSublevel } from 'abstract-level'
import type { ClassicLevel } from 'classic-level'
import type { FileRecord } from '../model/file-record.ts'

/**
 * The on-disk key layout of one folder's sublevel (`f:<folder>` in the device's or the relay's
 * database). Only the record log (src/store/record-log.ts) uses it; the bytes must never change,
 * or existing homes and relays would no longer open:
 * - `r:<device>:<seq, 16 digits>`: the newest signed record of each (device, path)
 * - `h:<path>\0<device>\0<seq, 16 digits>`: a superseded record, `[supersededAtMs, envelope]`
 * - `m:<path>`: the scan cache of a path (JSON of LocalMeta), this device only
 */

// abstract-level's sublevel type needs the parent's type parameters; the parent is opaque here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FolderDb = AbstractSublevel<any, any, string, Uint8Array>


const SEQ_DIGITS = 16
const seqPart = (seq: number): string => String(seq).padStart(SEQ_DIGITS, '0')

/** The sublevel of one folder in a device's or the relay's database. */
export function folderSublevel (db: ClassicLevel<string, Uint8Array>, folder: string): FolderDb {
  return db.sublevel<string, Uint8Array>(`f:${folder}`, { valueEncoding: 'view' }) as unknown as FolderDb
}

export interface KeyRange { gt?: string, gte?: string, lt: string }

export const recordKey = (device: string, seq: number): string => `r:${device}:${seqPart(seq)}`
export const RECORDS: KeyRange = { gte: 'r:', lt: 'r;' }
/** `device`'s records after `seq`, ascending */
export const recordsAfterRange = (device: string, seq: number): KeyRange => ({ gt: recordKey(device, seq), lt: `r:${device};` })

export const historyKey = (path: string, device: string, seq: number): string => `h:${path}\0${device}\0${seqPart(seq)}`
export const HISTORY: KeyRange = { gte: 'h:', lt: 'h;' }
export const historyOfPathRange = (path: string): KeyRange => ({ gte: `h:${path}\0`, lt: `h:${path}\u0001` })

export const metaKey = (path: string): string => `m:${path}`
export const METAS: KeyRange = { gte: 'm:', lt: 'm;' }
export const pathOfMetaKey = (key: string): string => key.slice(2)

/**
 * Whether `key` (a current record's or a history entry's) names this record's device, seq and
 * path; a current record's key holds no path.
 */
export function keyNames (key: string, record: FileRecord): boolean {
  const rest = key.slice(2)
  const [device, seq, path] = key.startsWith('h:')
    ? (([p, d, q]) => [d, q, p])(rest.split('\0'))
    : [rest.slice(0, rest.lastIndexOf(':')), rest.slice(rest.lastIndexOf(':') + 1), record.path]
  return device === record.device && Number(seq) === record.seq && path === record.path
}
