import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import type { FileRecord } from '../model/file-record.ts'
import { compareVersions } from '../model/version-vector.ts'
import type { FolderStore } from '../store/folder-store.ts'
import type { LocalChange } from '../store/local-index.ts'
import type { LocalMeta } from '../store/local-meta.ts'
import type { AsyncLock } from '../store/async-lock.ts'
import type { BlockBytes, WantedBlock } from '../../protocols/blocks/index.ts'
import { FerryError } from '../errors.ts'
import type { TransferProgress } from './transfer-progress.ts'
import type { FreeSpace } from './free-space.ts'
import type { Trash } from './trash-port.ts'

/** fetches blocks of `record` from peers; throws when they cannot all be had */
export type FetchBlocks = (record: FileRecord, wanted: WantedBlock[], onBlock: (cid: CID, data: BlockBytes) => Promise<void>, signal?: AbortSignal) => Promise<void>

/** Moves finished temp files into place (install-queue.ts). */
export interface Installer {
  install: (item: { record: FileRecord, tmp: string, base: number, meta: LocalMeta }) => Promise<void>
}

/** the old name of a renamed file: our record of it (`base`) and the peer's delete of it */
export interface RenameSource { path: string, base: number, deleted: FileRecord }

export interface ApplierComponents {
  root: string
  store: FolderStore
  /** serialises "check the disk, change it, record it" against the scanner */
  diskLock: AsyncLock
  fetchBlocks: FetchBlocks
  log: Logger
  /** where replaced and deleted files are kept */
  trash: Trash
  /** files being assembled, for status and progress lines */
  progress?: TransferProgress
  /** moves finished temp files into place (grouped) */
  installs: Installer
  /**
   * A file of ours with exactly this content that the current plan deletes (with the seq of our
   * record it was planned against, and the delete's record), claimed once: a rename moves it
   * instead of copying it.
   */
  claimRenameSource?: (record: FileRecord) => RenameSource | undefined
  /** the losing local version of `path` was just kept as `conflictPath` */
  onConflictCopy?: (path: string, conflictPath: string, local: FileRecord) => void
  /** a file changed on disk while the applier acted on it: the scanner should look again */
  onLocalChange?: () => void
  /** downloads are checked against the disk's free space (free-space.ts) */
  space?: FreeSpace
}

/** The local file changed under us: leave it, let the scanner record it, plan again. */
export class LocalChangeError extends FerryError {
  constructor (path: string) {
    super(`${path} changed locally while syncing`, 'ERR_FERRY_LOCAL_CHANGE')
  }
}

/**
 * A directory that must become a file still holds entries we have no record of: new ones (the
 * scanner records them, and the planner decides again) or ignored ones (the user must move them).
 */
export class DirNotEmptyError extends FerryError {
  constructor (path: string) {
    super(`${path} is a directory holding entries ferry does not sync (ignored, or not scanned yet); it cannot become a file`, 'ERR_FERRY_DIR_NOT_EMPTY')
  }
}

/** Our record of the path moved on since the action was planned (a scan landed): plan again. */
export class StalePlanError extends FerryError {
  constructor (path: string) {
    super(`${path}: plan is stale`, 'ERR_FERRY_STALE_PLAN')
  }
}

/** Under the disk lock: the record the plan was made against must still be ours. */
export function assertBase (c: Pick<ApplierComponents, 'store'>, path: string, base: number): void {
  if ((c.store.own(path)?.seq ?? 0) !== base) throw new StalePlanError(path)
}

/** our record of the path is already the peer's delete `record` (the move of a rename recorded it) */
export function deleteRecorded (c: Pick<ApplierComponents, 'store'>, record: FileRecord): boolean {
  const own = c.store.own(record.path)
  return own?.deleted === true && record.deleted && compareVersions(own.version, record.version) === 'equal'
}

/** our record adopts `record` (a peer's version), with the stat of what is on disk for it */
export function adoptChange (record: FileRecord, meta: LocalMeta | null): LocalChange {
  return { path: record.path, type: record.type, size: record.size, mode: record.mode, mtimeMs: record.mtimeMs, deleted: record.deleted, blocks: record.blocks, adopt: record, meta }
}
