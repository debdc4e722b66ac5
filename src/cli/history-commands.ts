import { callDaemon, NoDaemonError } from '../daemon/control-client.ts'
import { listConflicts, type ConflictCopy } from '../history/conflict-list.ts'
import { withOfflineStores } from '../store/open-offline.ts'

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
  return await askDaemonOr(home, '/conflicts', async () => await withOfflineStores(home, async folders => {
    return [...folders.values()].flatMap(f => listConflicts(f.store))
  }))
}
