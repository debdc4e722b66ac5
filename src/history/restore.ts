import { lstat, open, rm } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import type { Logger } from '@libp2p/logger'
import { contentKey, type FileRecord } from '../model/file-record.ts'
import { validatePath } from '../model/paths.ts'
import type { AsyncLock } from '../store/async-lock.ts'
import type { FolderStore } from '../store/folder-store.ts'
import type { IgnoreRules } from '../ignore/ignore-rules.ts'
import { blockMatches } from '../hashing/block-cid.ts'
import { assembleFile, renameIntoPlace } from '../sync/file-assembler.ts'
import type { FetchBlocks } from '../sync/applier-components.ts'
import type { FolderSync } from '../sync/folder-sync.ts'
import { makeTempDir, TEMP_DIR } from '../sync/temp-area.ts'
import { O_RDONLY_NOFOLLOW, parentOf, safeJoin, UnsafePathError } from '../disk/safe-path.ts'
import { BlocksUnavailableError } from '../sync/block-fetcher.ts'
import { globalWinner } from '../sync/planner.ts'
import { FerryError } from '../errors.ts'
import { linkToTrash, listTrash } from './trash.ts'
import { versionId, versionsOf, UnknownPathError, type VersionCatalogComponents } from './revisions.ts'

export interface RestoreComponents extends VersionCatalogComponents {
  /** restore also reads our own files' blocks (the device-local index) */
  store: FolderStore
  diskLock: AsyncLock
  ignore: IgnoreRules
  fetchBlocks: FetchBlocks
  /** asks the scanner to look at these paths now */
  scanPaths: (paths: string[]) => void
  log: Logger
}

export interface RestoreRequest {
  path: string
  /** a version id from `ferry revisions`; default: the newest version with other content than now */
  version?: string
  /** write it here instead of at `path` */
  to?: string
}

export interface RestoreResult {
  folder: string
  path: string
  to: string
  versionId: string
  size: number
  /** where the bytes came from */
  from: { trash: number, local: number, peers: number }
  /** the scanner recorded it as a new version (false: it will, at the next scan) */
  recorded: boolean
}

/** How long restore waits for the scanner to record the restored file before answering. */
export const RECORD_WAIT_MS = 30_000

export class UnknownVersionError extends FerryError {
  constructor (path: string, id: string, folder: string) {
    super(`no version ${id} of ${path}`, 'ERR_FERRY_VERSION_NOT_FOUND', `\`ferry revisions ${folder} ${path}\` lists them`)
  }
}

/** Picks the version to bring back: the one asked for, or the newest with other content than now. */
async function chooseVersion (c: RestoreComponents, path: string, id: string | undefined): Promise<FileRecord> {
  const remote = await c.remoteHistory?.(path)
  const versions = await versionsOf(c.store, path, remote?.versions.map(v => v.record) ?? [])
  if (versions.length === 0) throw new UnknownPathError(c.folder, path)
  if (id !== undefined) {
    const r = versions.find(v => versionId(v) === id)
    if (r === undefined) throw new UnknownVersionError(path, id, c.folder)
    if (r.deleted) throw new FerryError(`version ${id} of ${path} is a deletion: nothing to restore`, 'ERR_FERRY_VERSION_DELETED', 'pick a version with content')
    if (r.type !== 'file') throw new FerryError(`version ${id} of ${path} is a directory: only files are restored`, 'ERR_FERRY_NOT_A_FILE')
    return r
  }
  const own = c.store.own(path)
  const winner = globalWinner(own === undefined ? c.store.remoteOf(path) : [own, ...c.store.remoteOf(path)])
  const now = winner === undefined || winner.deleted ? undefined : contentKey(winner)
  const r = versions.find(v => !v.deleted && v.type === 'file' && contentKey(v) !== now)
  if (r === undefined) throw new FerryError(`no earlier version of ${path} with content is known`, 'ERR_FERRY_VERSION_NOT_FOUND', `\`ferry revisions ${c.folder} ${path}\` lists what is known`)
  return r
}

async function readAt (file: string, cid: CID, size: number, at: number): Promise<Uint8Array | undefined> {
  let fh
  try {
    fh = await open(file, O_RDONLY_NOFOLLOW)
    const buf = new Uint8Array(size)
    const { bytesRead } = await fh.read(buf, 0, size, at)
    return bytesRead === size && blockMatches(cid, buf) ? buf : undefined
  } catch {
    return undefined
  } finally {
    await fh?.close()
  }
}

/**
 * Brings a version of a file back as a new version: the bytes come from the trash, then from
 * our own files (any block with the same CID), then from peers (blocks protocol); every block is
 * verified. The file is assembled in `.ferry/tmp`, fsynced, and renamed over the target under
 * the disk lock (whatever the target held goes to the trash first); the scanner then records it
 * as a new local version, which every device takes like any other edit.
 *
 * In a running folder (`ferry restore`): with the folder's disk lock and block fetch, outside
 * its sync loop (the temp file is not swept meanwhile).
 */
export async function restoreInFolder (sync: FolderSync, req: RestoreRequest, catalog: Pick<VersionCatalogComponents, 'members' | 'remoteHistory'>): Promise<RestoreResult> {
  const { c, placed } = await sync.applyOutsideLoop(async a => {
    sync.refreshTrash()
    const c: RestoreComponents = { folder: sync.folder, root: a.root, store: a.store, ...catalog, diskLock: a.diskLock, ignore: sync.ignore, fetchBlocks: a.fetchBlocks, scanPaths: paths => sync.scanPaths(paths), log: a.log }
    return { c, placed: await placeVersion(c, req, sync.signal) }
  })
  const recorded = await waitForRecord(c, placed.to, placed.record, sync.signal)
  return { folder: sync.folder, path: placed.path, to: placed.to, versionId: versionId(placed.record), size: placed.record.size, from: placed.from, recorded }
}

interface PlacedVersion { path: string, to: string, record: FileRecord, from: RestoreResult['from'] }

async function placeVersion (c: RestoreComponents, req: RestoreRequest, signal?: AbortSignal): Promise<PlacedVersion> {
  const path = validatePath(req.path)
  const to = validatePath(req.to ?? path)
  if (c.ignore.ignores(to, false)) throw new FerryError(`${to} is ignored by .ferryignore`, 'ERR_FERRY_IGNORED', 'restore it with --to under another name')
  const record = await chooseVersion(c, path, req.version)
  const trashFiles = (await listTrash(c.root)).filter(e => e.path === path).sort((x, y) => y.trashedAtMs - x.trashedAtMs).map(e => e.file)

  const tmpRel = `${TEMP_DIR}/restore-${randomUUID()}.part`
  await makeTempDir(c.root, parentOf(tmpRel))
  const tmp = safeJoin(c.root, tmpRel)
  const from = { trash: 0, local: 0, peers: 0 }
  try {
    try {
      // (the version's own bits; the time of writing, as a new version of ours)
      await assembleFile(c, {
        record,
        tmp,
        setMtime: false,
        readFirst: async (cid, size, at) => {
          for (const file of trashFiles) {
            const data = await readAt(file, cid, size, at)
            if (data !== undefined) return data
          }
          return undefined
        },
        onBlock: (origin, bytes) => { from[origin === 'first' ? 'trash' : origin] += bytes },
        ...(signal === undefined ? {} : { signal })
      })
    } catch (err) {
      if (!(err instanceof BlocksUnavailableError)) throw err
      throw new FerryError(`version ${versionId(record)} of ${path} is not in this device's trash or files, and no connected peer has its content`, 'ERR_FERRY_VERSION_UNAVAILABLE', 'connect a device that still holds it')
    }
    await c.diskLock.run(async () => {
      // every directory of the target checked (safe-path.ts): nothing is written through a link
      const abs = safeJoin(c.root, to, { leaf: 'any' })
      let st
      try { st = await lstat(abs) } catch { st = undefined }
      if (st?.isDirectory() === true) throw new FerryError(`${to} is a directory`, 'ERR_FERRY_NOT_A_FILE', 'restore with --to under another name')
      if (st !== undefined && !st.isFile()) throw new UnsafePathError(to, st.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file')
      // what the target holds now is kept, like anything ferry replaces
      if (st !== undefined) await linkToTrash(c.root, to, c.store.own(to)?.seq ?? 0)
      await renameIntoPlace(c.root, tmp, { path: to, abs })
    })
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  c.log('%s: restored version %s of %s to %s', c.folder, versionId(record), path, to)
  return { path, to, record, from }
}

/** Asks the scanner to look at `to` and waits (bounded) until our record of it has this content. */
async function waitForRecord (c: RestoreComponents, to: string, record: FileRecord, signal?: AbortSignal): Promise<boolean> {
  const done = (): boolean => {
    const own = c.store.own(to)
    return own !== undefined && !own.deleted && own.size === record.size && own.blocks.length === record.blocks.length && own.blocks.every((b, i) => b.cid.equals(record.blocks[i]!.cid))
  }
  const result = Promise.withResolvers<boolean>()
  const unsubscribe = c.store.onChange(paths => { if (paths.includes(to) && done()) result.resolve(true) })
  const timer = setTimeout(() => result.resolve(done()), RECORD_WAIT_MS)
  const onAbort = (): void => result.resolve(false)
  signal?.addEventListener('abort', onAbort)
  try {
    c.scanPaths([to])
    if (done()) return true
    return await result.promise
  } finally {
    unsubscribe()
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}
