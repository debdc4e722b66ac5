import type { Route, Routes } from '../api/router.ts'
import type { FolderSync } from '../sync/folder-sync.ts'
import type { RevertResult } from '../sync/revert.ts'
import { FerryError } from '../errors.ts'

export interface FolderGuardRoutesComponents {
  folder: (id: string) => FolderSync | undefined
  /** true when this device is read-only in the folder (`POST /revert` then also discards its changes) */
  isReadOnly: (id: string) => boolean
  /** the read-only members' `POST /revert` (src/sharing/read-only.ts) */
  readOnlyRevert: Route
}

function folderOf (c: FolderGuardRoutesComponents, body: unknown): FolderSync {
  const id = (body as { folder?: unknown } | undefined)?.folder
  if (typeof id !== 'string') throw new FerryError('which folder? (folder=<id>)', 'ERR_FERRY_BAD_REQUEST')
  const sync = c.folder(id)
  if (sync === undefined) throw new FerryError(`no folder ${id}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
  return sync
}

/**
 * `POST /confirm-deletes` `{ folder }`: records the deletes mass-delete protection holds.
 * `POST /revert` `{ folder }`: brings back the files of held deletes (from peers), and on a
 * read-only member also discards its local changes (as before).
 */
export function folderGuardRoutes (c: FolderGuardRoutesComponents): Routes {
  return {
    'POST /confirm-deletes': async ({ body }): Promise<{ folder: string, confirmed: number }> => {
      const sync = folderOf(c, body)
      if (!sync.hasHeldDeletes) throw new FerryError(`no deletes are held in folder ${sync.folder}`, 'ERR_FERRY_NOTHING_HELD', 'see `ferry status`')
      return { folder: sync.folder, confirmed: await sync.confirmHeldDeletes() }
    },
    'POST /revert': async (req): Promise<RevertResult & { folder: string }> => {
      const sync = folderOf(c, req.body)
      if (!sync.hasHeldDeletes) return await c.readOnlyRevert(req) as RevertResult & { folder: string }
      const held = await sync.revertHeldDeletes()
      if (!c.isReadOnly(sync.folder)) return { folder: sync.folder, ...held }
      const more = await c.readOnlyRevert(req) as RevertResult
      return { folder: sync.folder, reverted: [...held.reverted, ...more.reverted], failed: [...held.failed, ...more.failed] }
    }
  }
}
