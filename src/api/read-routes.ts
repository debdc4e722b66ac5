import type { Config, Role } from '../config/config.ts'
import type { DaemonStatus, PeerStatus } from '../daemon/daemon.ts'
import type { FolderStatus } from '../sync/folder-sync.ts'
import type { TransferStatus } from '../sync/transfer-progress.ts'
import type { FolderStore } from '../store/folder-store.ts'
import { isConflictCopy } from '../sync/conflict-name.ts'
import type { Routes } from './router.ts'

/** What the read-only JSON routes need of the daemon. */
export interface ReadRoutesComponents {
  status: () => DaemonStatus
  config: () => Config
  stores: () => Iterable<FolderStore>
}

export type FolderView = FolderStatus & { members: Record<string, Role> }
export interface ConflictCopy { folder: string, path: string, size: number, mtimeMs: number, modifiedBy: string }

/** GET /folders, /peers, /transfers, /conflicts: views of what `status()` and the stores hold. */
export function readRoutes (c: ReadRoutesComponents): Routes {
  return {
    'GET /folders': async (): Promise<FolderView[]> => {
      const config = c.config()
      return c.status().folders.map(f => ({ ...f, members: config.folders[f.id]?.members ?? {} }))
    },
    'GET /peers': async (): Promise<PeerStatus[]> => c.status().peers,
    'GET /transfers': async (): Promise<TransferStatus[]> => c.status().folders.flatMap(f => f.transfers),
    // conflict copies this device holds now (the planner names them; see conflict-name.ts)
    'GET /conflicts': async (): Promise<ConflictCopy[]> => {
      const out: ConflictCopy[] = []
      for (const store of c.stores()) {
        for (const r of store.ownRecords().values()) {
          if (r.deleted || r.type !== 'file' || !isConflictCopy(r.path)) continue
          out.push({ folder: store.folder, path: r.path, size: r.size, mtimeMs: r.mtimeMs, modifiedBy: r.modifiedBy })
        }
      }
      return out.sort((a, b) => a.folder === b.folder ? (a.path < b.path ? -1 : 1) : (a.folder < b.folder ? -1 : 1))
    }
  }
}
