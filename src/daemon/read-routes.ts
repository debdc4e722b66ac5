import type { Config, Role } from '../config/config.ts'
import type { DaemonStatus, PeerStatus } from './status-types.ts'
import type { FolderStatus } from '../sync/folder-sync.ts'
import type { TransferStatus } from '../sync/transfer-progress.ts'
import type { Routes } from '../api/router.ts'

/** What the read-only JSON routes need of the daemon. */
export interface ReadRoutesComponents {
  status: () => DaemonStatus
  config: () => Config
}

export type FolderView = FolderStatus & { members: Record<string, Role> }

/** GET /folders, /peers, /transfers: views of what `status()` and the stores hold. */
export function readRoutes (c: ReadRoutesComponents): Routes {
  return {
    'GET /folders': async (): Promise<FolderView[]> => {
      const config = c.config()
      return c.status().folders.map(f => ({ ...f, members: config.folders[f.id]?.members ?? {} }))
    },
    'GET /peers': async (): Promise<PeerStatus[]> => c.status().peers,
    'GET /transfers': async (): Promise<TransferStatus[]> => c.status().folders.flatMap(f => f.transfers)
  }
}
