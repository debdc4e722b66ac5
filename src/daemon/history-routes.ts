import type { Config } from '../config/config.ts'
import type { FolderSync } from '../sync/folder-sync.ts'
import { FerryError } from '../errors.ts'
import type { Route } from '../control/control-server.ts'
import { listConflicts, type ConflictCopy } from '../history/conflict-list.ts'
import { deviceLabels } from './device-labels.ts'
import { deletedFiles, revisionsOf, UnknownFolderError, type DeletedFile, type RemoteHistory, type Revision } from '../history/revisions.ts'
import { restoreInFolder, type RestoreResult } from '../history/restore.ts'
import { bodyObject } from '../api/body-fields.ts'

export interface HistoryRoutesComponents {
  folders: () => ReadonlyMap<string, FolderSync>
  config: () => Config
  /** what the folder's connected relays keep of a path */
  remoteHistory: (folder: string, path: string) => Promise<RemoteHistory>
}

function badRequest (what: string): FerryError {
  return new FerryError(`bad request: ${what}`, 'ERR_FERRY_BAD_REQUEST')
}

/**
 * Control-API routes behind `ferry conflicts`, `ferry revisions` and `ferry restore`:
 * `GET /conflicts`, `GET /revisions?folder=F&path=P`, `GET /deleted?folder=F`, and
 * `POST /restore` with `{ folder, path, version?, to? }`.
 */
export function historyRoutes (c: HistoryRoutesComponents): Record<string, Route> {
  const folderOf = (id: unknown): FolderSync => {
    if (typeof id !== 'string') throw badRequest('folder missing')
    const sync = c.folders().get(id)
    if (sync === undefined) throw new UnknownFolderError(id)
    return sync
  }
  const catalog = (sync: FolderSync) => ({
    folder: sync.folder,
    root: sync.root,
    store: sync.store,
    members: c.config().folders[sync.folder]?.members ?? {},
    remoteHistory: async (path: string) => await c.remoteHistory(sync.folder, path)
  })
  return {
    'GET /conflicts': async (): Promise<ConflictCopy[]> => (await Promise.all([...c.folders().values()].map(async sync => await listConflicts(sync.store, deviceLabels(c.config))))).flat(),
    'GET /revisions': async ({ query }): Promise<Revision[]> => {
      const path = query.get('path')
      if (path === null) throw badRequest('path missing')
      return await revisionsOf(catalog(folderOf(query.get('folder') ?? undefined)), path)
    },
    'GET /deleted': async ({ query }): Promise<DeletedFile[]> => await deletedFiles(catalog(folderOf(query.get('folder') ?? undefined))),
    'POST /restore': async ({ body }): Promise<RestoreResult> => {
      const b = bodyObject(body)
      const sync = folderOf(b.folder)
      const str = (k: string): string | undefined => {
        const v = b[k]
        if (v === undefined) return undefined
        if (typeof v !== 'string') throw badRequest(`${k} must be a string`)
        return v
      }
      const path = str('path')
      if (path === undefined) throw badRequest('path missing')
      const version = str('version')
      const to = str('to')
      return await restoreInFolder(sync, { path, ...(version === undefined ? {} : { version }), ...(to === undefined ? {} : { to }) }, catalog(sync))
    }
  }
}
