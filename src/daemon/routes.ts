import type { ClassicLevel } from 'classic-level'
import type { Config } from '../config/config.ts'
import type { Routes } from '../api/router.ts'
import { readRoutes } from './read-routes.ts'
import { folderSublevel } from '../store/open-offline.ts'
import type { FolderSync } from '../sync/folder-sync.ts'
import type { RemoteHistory } from '../history/revisions.ts'
import type { SharingService } from '../sharing/sharing-service.ts'
import type { ReadOnlyFolders } from '../sharing/read-only.ts'
import { historyRoutes } from './history-routes.ts'
import { folderGuardRoutes } from './folder-guard-routes.ts'
import { folderControlRoutes } from './folder-control-routes.ts'
import type { DaemonStatus } from './status-types.ts'
import type { FolderKeys } from './folder-keys.ts'
import { bodyObject, BadRequestError } from '../api/body-fields.ts'

/** What the daemon's routes reach. */
export interface DaemonRoutesComponents {
  folders: Map<string, FolderSync>
  config: () => Config
  db: ClassicLevel<string, Uint8Array>
  sharing: SharingService
  readOnly: ReadOnlyFolders
  status: () => DaemonStatus
  reload: () => Promise<void>
  remoteHistory: (folder: string, path: string) => Promise<RemoteHistory>
  keys: FolderKeys
}

/** One route table for the CLI's unix socket and the token-guarded HTTP API. */
export function daemonRoutes (c: DaemonRoutesComponents): Routes {
  const readOnlyRoutes = c.readOnly.routes()
  return {
    ...c.sharing.routes(),
    ...readOnlyRoutes,
    // POST /confirm-deletes; POST /revert also reverts held deletes (mass-delete protection)
    ...folderGuardRoutes({ folder: id => c.folders.get(id), isReadOnly: id => c.config().folders[id]?.role === 'read-only', readOnlyRevert: readOnlyRoutes['POST /revert']! }),
    // POST /rescan
    ...folderControlRoutes({ folder: id => c.folders.get(id), folderConfig: id => c.config().folders[id], clearRecords: async id => { await folderSublevel(c.db, id).clear() } }),
    'GET /status': async () => c.status(),
    'POST /reload': async () => { await c.reload(); return { ok: true } },
    // `ferry folder rekey`: the daemon is the keyrings' only writer while it runs
    'POST /rekey': async ({ body }) => {
      const folder = bodyObject(body).folder
      if (typeof folder !== 'string') throw new BadRequestError('folder missing')
      return await c.keys.rekey(folder)
    },
    ...readRoutes({ status: () => c.status(), config: () => c.config() }),
    // GET /conflicts, /revisions, /deleted; POST /restore
    ...historyRoutes({ folders: () => c.folders, config: () => c.config(), remoteHistory: async (folder, path) => await c.remoteHistory(folder, path) })
  }
}
