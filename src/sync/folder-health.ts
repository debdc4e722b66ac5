import { mkdir, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { INTERNAL_DIR } from '../model/paths.ts'
import { writeFileAtomic } from '../config/atomic-write.ts'
import { AsyncLock } from '../store/async-lock.ts'
import { FerryError } from '../errors.ts'

/**
 * Folder health: a folder syncs only while its root is there, is a directory, is on the file
 * system it was added on, and holds the marker `.ferry/folder` (the folder id) that `ferry folder
 * add` / `ferry join` wrote. Otherwise the folder is stopped: nothing is scanned, recorded or
 * applied, so a disk that goes away (unmounted, the root deleted or moved) never turns into
 * deletes. See DESIGN.md, Folder health.
 */

/** the marker, inside the internal area (never scanned, synced or watched) */
export const MARKER_FILE = join(INTERNAL_DIR, 'folder')

export type StopCode = 'ERR_FERRY_ROOT_MISSING' | 'ERR_FERRY_ROOT_NOT_DIR' | 'ERR_FERRY_ROOT_UNREADABLE' | 'ERR_FERRY_OTHER_FILESYSTEM' | 'ERR_FERRY_MARKER_MISSING' | 'ERR_FERRY_MARKER_MISMATCH'

export interface FolderStop { code: StopCode, reason: string }
/** what status shows of a stopped folder */
export interface FolderStopped extends FolderStop { since: number }

/** An action refused because the folder is stopped (or its root just went away). */
export class FolderStoppedError extends FerryError {
  constructor (folder: string, stop: FolderStop) {
    super(`folder ${folder} is stopped: ${stop.reason}`, 'ERR_FERRY_FOLDER_STOPPED')
  }
}

/** the file system id recorded at `folder add` (st_dev, as a decimal string) */
export async function fsidOf (root: string): Promise<string> {
  return String((await stat(root, { bigint: true })).dev)
}

/**
 * Makes `root` a folder's root: creates it if needed, writes the marker, and returns the file
 * system id to record in config. Only `ferry folder add` and `ferry join` call this: ferry
 * never creates the root of an existing folder.
 */
export async function initFolderRoot (root: string, folder: string): Promise<string> {
  await mkdir(root, { recursive: true })
  await writeMarker(root, folder)
  return await fsidOf(root)
}

export async function writeMarker (root: string, folder: string): Promise<void> {
  await mkdir(join(root, INTERNAL_DIR), { recursive: true })
  await writeFileAtomic(join(root, MARKER_FILE), `${folder}\n`)
}

/**
 * Why the folder at `root` must not sync now (undefined: healthy). `fsid`: the file system id
 * recorded in config, if any. Asynchronous calls only: a hung network mount blocks a thread of
 * the pool, not the daemon.
 */
export async function checkRoot (root: string, folder: string, fsid: string | undefined): Promise<FolderStop | undefined> {
  let st
  try {
    st = await stat(root, { bigint: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return { code: 'ERR_FERRY_ROOT_MISSING', reason: `folder root ${root} is missing (deleted, moved, or its disk is not mounted); nothing is synced until it is back` }
    return { code: 'ERR_FERRY_ROOT_UNREADABLE', reason: `folder root ${root} cannot be read (${code ?? (err as Error).message}); nothing is synced until it can` }
  }
  if (!st.isDirectory()) return { code: 'ERR_FERRY_ROOT_NOT_DIR', reason: `folder root ${root} is not a directory; nothing is synced until it is` }
  if (fsid !== undefined && String(st.dev) !== fsid) {
    return { code: 'ERR_FERRY_OTHER_FILESYSTEM', reason: `folder root ${root} is on another file system than when the folder was added (device ${st.dev}, was ${fsid}): is the right disk mounted? If the folder moved on purpose, remove "fsid" from the folder in config.json and restart ferry` }
  }
  let marker: string
  try {
    marker = await readFile(join(root, MARKER_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { code: 'ERR_FERRY_MARKER_MISSING', reason: markerMissing(root, folder) }
    return { code: 'ERR_FERRY_ROOT_UNREADABLE', reason: `cannot read ${join(root, MARKER_FILE)}: ${(err as Error).message}` }
  }
  if (marker.trim() !== folder) return { code: 'ERR_FERRY_MARKER_MISMATCH', reason: `${root} is marked as the root of folder ${JSON.stringify(marker.trim())}, not ${folder}; nothing is synced until the right directory is there` }
  return undefined
}

function markerMissing (root: string, folder: string): string {
  return `folder root ${root} lacks its marker ${MARKER_FILE} (an empty mount point, or another directory?); nothing is synced until it is back. If this really is the folder, run \`echo ${folder} > ${join(root, MARKER_FILE)}\``
}

/**
 * A folder added before markers existed (config has no `fsid`) gets its marker once, if that is
 * safe: its root is a directory and either holds something besides the internal area (the data
 * is here) or this device has no live record in the folder (nothing could be deleted). An empty
 * root while records say there are files is what an unmounted disk looks like: left stopped.
 * True when the marker was written.
 */
export async function adoptUnmarkedRoot (root: string, folder: string, hasLiveRecords: boolean): Promise<boolean> {
  let names: string[]
  try { names = await readdir(root) } catch { return false }
  if (names.some(n => n !== INTERNAL_DIR) || !hasLiveRecords) {
    await writeMarker(root, folder)
    return true
  }
  return false
}

/**
 * The folder's disk lock, checking the root before every holder runs: everything that changes
 * the folder's disk and records it (the applier's installs, mkdirs, deletes, the scanner's
 * commits, restores) runs under it, so none acts in a folder whose root went away.
 */
export class GuardedLock extends AsyncLock {
  private readonly check: () => Promise<FolderStop | undefined>
  private readonly onStop: (stop: FolderStop) => void
  private readonly folder: string

  constructor (folder: string, check: () => Promise<FolderStop | undefined>, onStop: (stop: FolderStop) => void) {
    super()
    this.folder = folder
    this.check = check
    this.onStop = onStop
  }

  override async run<T> (fn: () => Promise<T>): Promise<T> {
    return await super.run(async () => {
      const stop = await this.check()
      if (stop !== undefined) {
        this.onStop(stop)
        throw new FolderStoppedError(this.folder, stop)
      }
      return await fn()
    })
  }

  /** waits for every earlier holder without checking (stopping the folder) */
  async drain (): Promise<void> {
    await super.run(async () => {})
  }
}
