import type { Role } from '../config/config.ts'
import { FerryError } from '../errors.ts'
import type { Routes } from '../api/router.ts'
import { bodyObject, optionalString } from '../api/body-fields.ts'
import type { FolderSync } from '../sync/folder-sync.ts'
import { localChanges, type LocalChangeEntry } from '../sync/local-changes.ts'
import { revertLocalChanges, type RevertResult } from '../sync/revert.ts'

export interface ReadOnlyComponents {
  folder: (id: string) => FolderSync | undefined
  /** this device's own role in a folder (config `role`; absent: owner) */
  ownRole: (id: string) => Role | undefined
  /** whether `device`'s records count as changes of `folder` */
  acceptsChangesFrom: (folder: string, device: string) => boolean
}

/** status lists at most this many changed paths (the count is exact) */
export const MAX_LISTED_LOCAL_CHANGES = 100

export interface ReadOnlyStatus { role: 'read-only', localChanges: number, localChangedPaths: string[] }

export function localChangesOf (sync: FolderSync, accepts: (device: string) => boolean): LocalChangeEntry[] {
  const store = sync.store
  return localChanges({ paths: () => store.paths(), own: p => store.own(p), shared: p => store.remoteOf(p, accepts) })
}

/**
 * On a folder where this device is read-only, its own edits are not accepted by the others:
 * status flags them, `GET /local-changes` lists them and `POST /revert` discards them.
 */
export class ReadOnlyFolders {
  private readonly c: ReadOnlyComponents

  constructor (components: ReadOnlyComponents) {
    this.c = components
  }

  /** extra status fields of a read-only folder (none for other roles: their changes are shared) */
  status (sync: FolderSync): ReadOnlyStatus | undefined {
    if (this.c.ownRole(sync.folder) !== 'read-only') return undefined
    const changes = localChangesOf(sync, d => this.c.acceptsChangesFrom(sync.folder, d))
    return { role: 'read-only', localChanges: changes.length, localChangedPaths: changes.slice(0, MAX_LISTED_LOCAL_CHANGES).map(c => c.path) }
  }

  private readOnlyFolder (body: unknown, query: URLSearchParams): FolderSync {
    const id = optionalString(bodyObject(body), 'folder', 64) ?? query.get('folder')
    if (id === null) throw new FerryError('which folder? (folder=<id>)', 'ERR_FERRY_BAD_REQUEST')
    const sync = this.c.folder(id)
    if (sync === undefined) throw new FerryError(`no folder ${id}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
    if (this.c.ownRole(id) !== 'read-only') throw new FerryError(`this device is not read-only in folder ${id}: its changes are shared, there is nothing to revert`, 'ERR_FERRY_NOT_READ_ONLY')
    return sync
  }

  routes (): Routes {
    return {
      'GET /local-changes': async req => {
        const sync = this.readOnlyFolder(undefined, req.query)
        return localChangesOf(sync, d => this.c.acceptsChangesFrom(sync.folder, d)).map(c => ({ path: c.path, kind: c.kind }))
      },
      'POST /revert': async (req): Promise<RevertResult & { folder: string }> => {
        const sync = this.readOnlyFolder(req.body, req.query)
        const changes = localChangesOf(sync, d => this.c.acceptsChangesFrom(sync.folder, d))
        const result = await sync.applyOutsideLoop(async c => await revertLocalChanges(changes, c))
        sync.requestScan()
        sync.requestSync()
        return { folder: sync.folder, ...result }
      }
    }
  }
}
