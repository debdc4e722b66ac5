import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import { loadConfig, type Config, type FolderConfig } from '../config/config.ts'
import { folderSublevel } from '../store/open-offline.ts'
import { FerryError } from '../errors.ts'
import { commit } from './commands.ts'

/** `ferry folder remove|pause|resume|rescan`. */

function folderIn (config: Config, id: string): FolderConfig {
  const folder = config.folders[id]
  if (folder === undefined) throw new FerryError(`no folder ${id}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
  return folder
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
  const config = await loadConfig(home)
  const { path } = folderIn(config, id)
  config.folders = Object.fromEntries(Object.entries(config.folders).filter(([f]) => f !== id))
  const { daemonReloaded } = await commit(home, config)
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
  const config = await loadConfig(home)
  const folder = folderIn(config, id)
  if (paused) folder.paused = true
  else delete folder.paused
  const { daemonReloaded } = await commit(home, config)
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
