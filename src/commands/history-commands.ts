import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import { listConflicts, type ConflictCopy } from '../history/conflict-list.ts'
import { withOfflineStores } from '../store/open-offline.ts'
import { deletedFiles, revisionsOf, UnknownFolderError, type DeletedFile, type Revision } from '../history/revisions.ts'
import type { RestoreResult } from '../history/restore.ts'
import { loadConfig } from '../config/config.ts'
import { FerryError } from '../errors.ts'
import { conflictLabel } from '../sync/conflict-name.ts'

/**
 * Commands about versions: conflicts, revisions, restore. Reads ask the running daemon (it
 * holds the database); with no daemon they open the database themselves.
 */

async function askDaemonOr<T> (home: string, path: string, offline: () => Promise<T>): Promise<T> {
  try {
    return await callDaemon<T>(home, 'GET', path)
  } catch (err) {
    if (err instanceof NoDaemonError) return await offline()
    throw err
  }
}

export async function conflictsCommand (home: string): Promise<ConflictCopy[]> {
  return await askDaemonOr(home, '/conflicts', async () => await withOfflineStores(home, async (folders, config) => {
    const labels = (device: string): string => conflictLabel(device, config.devices[device]?.name)
    return (await Promise.all([...folders.values()].map(async f => await listConflicts(f.store, labels)))).flat()
  }))
}

export async function revisionsCommand (home: string, folder: string, path: string): Promise<Revision[]> {
  const query = new URLSearchParams({ folder, path })
  return await askDaemonOr(home, `/revisions?${query.toString()}`, async () => await withOfflineStores(home, async (folders, config) => {
    const f = folders.get(folder)
    if (f === undefined) throw new UnknownFolderError(folder)
    return await revisionsOf({ folder, root: f.root, store: f.store, members: config.folders[folder]!.members }, path)
  }))
}

export async function deletedCommand (home: string, folder: string): Promise<DeletedFile[]> {
  const query = new URLSearchParams({ folder })
  return await askDaemonOr(home, `/deleted?${query.toString()}`, async () => await withOfflineStores(home, async (folders, config) => {
    const f = folders.get(folder)
    if (f === undefined) throw new UnknownFolderError(folder)
    return await deletedFiles({ folder, root: f.root, store: f.store, members: config.folders[folder]!.members })
  }))
}

/** A restore may fetch a whole file from peers: the daemon answers when it is in place. */
const RESTORE_TIMEOUT_MS = 60 * 60 * 1000

/** Restore needs the daemon: it writes into the folder under its disk lock and may fetch from peers. */
export async function restoreCommand (home: string, folder: string, path: string, opts: { version?: string, to?: string }): Promise<RestoreResult> {
  const config = await loadConfig(home)
  if (config.folders[folder] === undefined) throw new UnknownFolderError(folder)
  try {
    return await callDaemon<RestoreResult>(home, 'POST', '/restore', RESTORE_TIMEOUT_MS, { folder, path, ...opts })
  } catch (err) {
    if (err instanceof NoDaemonError) throw new FerryError(`restore needs the running daemon: ${err.message}`, 'ERR_FERRY_NO_DAEMON', 'start it with `ferry start`')
    throw err
  }
}
