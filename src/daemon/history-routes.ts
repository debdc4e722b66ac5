import type { FolderSync } from '../sync/folder-sync.ts'
import type { Route } from './control-server.ts'
import { listConflicts, type ConflictCopy } from '../history/conflict-list.ts'

export interface HistoryRoutesComponents {
  folders: () => ReadonlyMap<string, FolderSync>
}

/** Control-API routes for conflicts, revisions and restore (the CLI's `ferry conflicts` etc.). */
export function historyRoutes (c: HistoryRoutesComponents): Record<string, Route> {
  return {
    'GET /conflicts': async (): Promise<ConflictCopy[]> => [...c.folders().values()].flatMap(sync => listConflicts(sync.store))
  }
}
