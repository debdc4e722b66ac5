import type { TransferStatus } from './transfer-progress.ts'
import type { FolderStopped } from './folder-health.ts'
import type { HeldDeletes } from './folder-guard.ts'
import type { PathError } from './path-errors.ts'

/** What `ferry status` and the status API say of one folder. */
export interface FolderStatus {
  id: string
  path: string
  inSync: boolean
  needFiles: number
  needBytes: number
  scanning: boolean
  localFiles: number
  localBytes: number
  /** digest of what this device holds (live paths and their content): equal on devices in sync */
  stateHash: string
  /** files being received right now */
  transfers: TransferStatus[]
  /** the folder is stopped: its root is missing, not a directory, on another file system, or lacks its marker */
  stopped?: FolderStopped
  /** mass-delete protection holds these deletes until `ferry folder confirm-deletes` or `ferry revert` */
  heldDeletes?: HeldDeletes
  /** paths with a problem of their own (path-errors.ts), at most MAX_LISTED_PATH_ERRORS */
  errors: PathError[]
  /** how many paths have a problem, listed or not */
  errorCount: number
  /** when the last full walk of the folder finished (ms since the epoch; `ferry folder rescan` asks for one) */
  lastFullScanAt?: number
}
