import type { Routes } from '../api/router.ts'
import { bodyObject, BadRequestError } from '../api/body-fields.ts'
import type { FolderConfig } from '../config/config.ts'
import type { FolderStatus, FolderSync } from '../sync/folder-sync.ts'
import { FerryError } from '../errors.ts'

export interface FolderControlComponents {
  folder: (id: string) => FolderSync | undefined
  folderConfig: (id: string) => FolderConfig | undefined
  /** empties a folder's records in the daemon's database (the folder is out of the config) */
  clearRecords: (id: string) => Promise<void>
}

/**
 * `POST /rescan` `{ folder }`: a full walk of the folder now (what the periodic rescan does),
 * for a change the watcher missed. Answers once the walk is queued; the `scanned` log line
 * follows when it is done.
 */
export function folderControlRoutes (c: FolderControlComponents): Routes {
  return {
    'POST /rescan': async ({ body }): Promise<{ folder: string, requested: true }> => {
      const id = bodyObject(body).folder
      if (typeof id !== 'string') throw new BadRequestError('folder missing')
      const fc = c.folderConfig(id)
      if (fc === undefined) throw new FerryError(`no folder ${id}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
      if (fc.paused === true) throw new FerryError(`folder ${id} is paused`, 'ERR_FERRY_FOLDER_PAUSED', `\`ferry folder resume ${id}\` starts it (with a full scan)`)
      const sync = c.folder(id)
      if (sync === undefined) throw new FerryError(`folder ${id} is not running`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'see `ferry status`')
      if (sync.stopped !== undefined) throw new FerryError(`folder ${id} is stopped: ${sync.stopped.reason}`, 'ERR_FERRY_FOLDER_STOPPED', 'it scans by itself once its root is back')
      sync.requestScan()
      return { folder: id, requested: true }
    },
    /**
     * `POST /forget` `{ folder }`: after `ferry folder remove` took the folder out of the config
     * (its FolderSync stopped at the reload), its records go too: added again later, at another
     * path, old records of files that are not there would be taken for deletes.
     */
    'POST /forget': async ({ body }): Promise<{ folder: string, cleared: true }> => {
      const id = bodyObject(body).folder
      if (typeof id !== 'string') throw new BadRequestError('folder missing')
      if (c.folderConfig(id) !== undefined || c.folder(id) !== undefined) throw new FerryError(`folder ${id} is still configured`, 'ERR_FERRY_FOLDER_IN_USE', `\`ferry folder remove ${id}\` first`)
      await c.clearRecords(id)
      return { folder: id, cleared: true }
    }
  }
}

/** What `ferry status` shows of a paused folder (config `paused`): no FolderSync runs for it. */
export function pausedFolderStatus (id: string, fc: FolderConfig): FolderStatus & { paused: true } {
  return { id, path: fc.path, paused: true, inSync: false, needFiles: 0, needBytes: 0, scanning: false, localFiles: 0, localBytes: 0, stateHash: '', transfers: [], errors: [], errorCount: 0 }
}
