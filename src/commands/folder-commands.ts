import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import { loadConfig, validateFolderId, type Role } from '../config/config.ts'
import { addFolder, folderIn, removeFolder, setFolderPaused, updateConfig } from '../config/config-changes.ts'
import { checkNewFolder } from '../config/folder-path-check.ts'
import { loadDeviceKey } from '../identity/device-key.ts'
import { initFolderRoot } from '../sync/folder-health.ts'
import { folderSublevel } from '../store/open-offline.ts'
import { FerryError } from '../errors.ts'
import { reloadDaemon } from './reload-daemon.ts'
import { KeyringFiles } from '../keys/keyring-file.ts'

/** `ferry folder add|list|remove|pause|resume|rescan|confirm-deletes`. */

export async function folderAddCommand (home: string, path: string, id: string): Promise<{ id: string, path: string }> {
  validateFolderId(id)
  await loadDeviceKey(home)
  const real = await updateConfig(home, async config => {
    // the real path (symlinks resolved): what is recorded, created and later compared
    const real = await checkNewFolder(config, id, path, home)
    // the marker and file system id let the daemon tell this directory from an unmounted disk
    const fsid = await initFolderRoot(real, id)
    addFolder(config, id, { path: real, fsid })
    return real
  })
  // the folder's key (kept if it has one: added again, or keys from members; members converge on
  // one): what a relay of this folder holds is sealed with it
  await new KeyringFiles(home).ensure(id)
  await reloadDaemon(home)
  return { id, path: real }
}

export interface FolderListEntry { id: string, path: string, members: Record<string, Role>, paused?: true }

export async function folderListCommand (home: string): Promise<FolderListEntry[]> {
  const config = await loadConfig(home)
  return Object.entries(config.folders).map(([id, f]) => ({ id, path: f.path, members: f.members, ...(f.paused === true ? { paused: true as const } : {}) }))
}

/** `ferry folder confirm-deletes <folderId>`: the deletes mass-delete protection holds are recorded. */
export async function confirmDeletesCommand (home: string, folder: string): Promise<{ folder: string, confirmed: number }> {
  return await callDaemon(home, 'POST', '/confirm-deletes', 60_000, { folder })
}

export interface FolderRemoveResult {
  folder: string
  path: string
  /** the folder's records were removed from the database (false: a daemon holds it, they stay) */
  databaseCleared: boolean
  daemonReloaded: boolean
}

/**
 * Stops syncing a folder: it leaves the config; a running daemon stops its FolderSync. Nothing
 * on disk is touched (the files, the `.ferry` area and its trash stay). The folder's records
 * are removed from the database, by the running daemon if one holds it.
 */
export async function folderRemoveCommand (home: string, id: string): Promise<FolderRemoveResult> {
  const { path } = await updateConfig(home, config => removeFolder(config, id))
  const daemonReloaded = await reloadDaemon(home)
  // a running daemon holds the database: it empties the folder's records (its FolderSync
  // stopped at the reload); otherwise they are emptied here
  const databaseCleared = daemonReloaded ? (await callDaemon(home, 'POST', '/forget', 30_000, { folder: id }).then(() => true, () => false)) : await clearFolderRecords(home, id)
  return { folder: id, path, databaseCleared, daemonReloaded }
}

/** the folder's sublevel emptied, if the database is free (no daemon holds its lock) */
async function clearFolderRecords (home: string, id: string): Promise<boolean> {
  const db = new ClassicLevel<string, Uint8Array>(join(home, 'db'), { valueEncoding: 'view' })
  try {
    await db.open()
  } catch {
    return false
  }
  try {
    await folderSublevel(db, id).clear()
    return true
  } finally {
    await db.close()
  }
}

/** `paused: true` in the folder's config; a running daemon stops (or starts) its FolderSync. */
export async function folderPauseCommand (home: string, id: string, paused: boolean): Promise<{ folder: string, paused: boolean, daemonReloaded: boolean }> {
  await updateConfig(home, config => { setFolderPaused(config, id, paused) })
  const daemonReloaded = await reloadDaemon(home)
  return { folder: id, paused, daemonReloaded }
}

/** Asks the running daemon to walk the folder in full now (it answers once the walk is queued). */
export async function folderRescanCommand (home: string, id: string): Promise<{ folder: string, requested: true }> {
  folderIn(await loadConfig(home), id)
  try {
    return await callDaemon(home, 'POST', '/rescan', 10_000, { folder: id })
  } catch (err) {
    if (err instanceof NoDaemonError) throw new FerryError(`rescan needs the running daemon: ${err.message}`, 'ERR_FERRY_NO_DAEMON', 'start it with `ferry start`; it scans every folder when it starts')
    throw err
  }
}
