import type { Action } from './planner.ts'
import type { GuardEvent } from './folder-guard.ts'

/** something happened in a folder worth a line in the daemon's log */
export type FolderEvent =
  | { type: 'scanned', folder: string, changed: number, files: number, ms: number }
  | { type: 'applied', folder: string, action: Action['kind'], path: string }
  | { type: 'failed', folder: string, path: string, error: string }
  /** the local version of `path` lost to `winner`'s and was kept as `conflictPath` */
  | { type: 'conflict', folder: string, path: string, conflictPath: string, winner: string, kept: string }
  /** stopped / resumed (folder health) and held / confirmed deletes (mass-delete protection) */
  | GuardEvent
  /** `path` has a problem of its own (new, or a different one); the rest of the folder syncs on */
  | { type: 'path-error', folder: string, path: string, code: string, reason: string }
  | { type: 'path-error-cleared', folder: string, path: string }
