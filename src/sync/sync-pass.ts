import type { Logger } from '@libp2p/logger'
import type { FolderStore } from '../store/folder-store.ts'
import type { Action } from './planner.ts'
import { applyAction } from './file-applier.ts'
import { DirNotEmptyError, LocalChangeError, StalePlanError, type ApplierComponents } from './applier-components.ts'
import { SMALL_FILE_BYTES } from './file-assembler.ts'
import { BlocksUnavailableError } from './block-fetcher.ts'
import { runLimitedBySize } from './run-limited.ts'
import { FolderStoppedError } from './folder-health.ts'
import { ferryCode, type PathErrors } from './path-errors.ts'
import { TransferProgress } from './transfer-progress.ts'
import { FreeSpace } from './free-space.ts'
import { InstallQueue } from './install-queue.ts'
import { sweepTempArea } from './temp-area.ts'
import { UnsafePathError } from '../disk/safe-path.ts'
import type { RetryBackoff } from './retry-backoff.ts'
import { phasesOf, RenameSources, touchedPaths } from './pass-plan.ts'
import type { FolderEvent } from './folder-events.ts'

/** files assembled at once; small files' block requests are merged (fetch-coalescer.ts) */
export const DEFAULT_APPLY_CONCURRENCY = 64
/**
 * small files (assembled in memory, at most SMALL_FILE_BYTES each: 32 MiB for all) fetched at
 * once, beside the others: the more at once, the fewer and bigger the merged block requests
 */
export const DEFAULT_SMALL_FILE_CONCURRENCY = 512

export interface SyncPassComponents {
  folder: string
  store: FolderStore
  log: Logger
  applier: ApplierComponents
  errors: PathErrors
  backoff: RetryBackoff
  /** the path must be decided again */
  markDirty: (path: string) => void
  /** the disk holds something not recorded yet: the scanner should look */
  requestScan: () => void
  onEvent?: (e: FolderEvent) => void
  signal: AbortSignal
}

export type ActionExecutorComponents = Omit<SyncPassComponents, 'applier' | 'signal'> & Pick<ApplierComponents, 'root' | 'diskLock' | 'fetchBlocks' | 'trash'>

/**
 * Executes planned actions on one folder's disk: the applier's parts (install queue, transfer
 * progress, free space) for the sync loop's passes and for jobs outside it (`ferry revert`,
 * restore), and the temp area's sweep when nothing is left to do.
 */
export class ActionExecutor {
  private readonly c: ActionExecutorComponents
  readonly applier: ApplierComponents
  readonly progress: TransferProgress
  /** jobs running outside the sync loop: the temp area is not swept meanwhile */
  private outside = 0

  constructor (components: ActionExecutorComponents) {
    this.c = components
    this.progress = new TransferProgress(components.folder)
    const base = { root: components.root, store: components.store, diskLock: components.diskLock, fetchBlocks: components.fetchBlocks, log: components.log, trash: components.trash, space: new FreeSpace(components.root) }
    this.applier = { ...base, installs: new InstallQueue(base), progress: this.progress }
  }

  /** one pass of the sync loop (runSyncPass) */
  async run (actions: readonly Action[], signal: AbortSignal): Promise<SyncPassResult> {
    return await runSyncPass({ ...this.c, applier: this.applier, signal }, actions)
  }

  /**
   * Runs `job` with the applier outside the sync loop. Its temp files are not swept by an idle
   * sync pass meanwhile (a pass with nothing to do removes every temp file: under load one was
   * removed between a revert's write and its rename).
   */
  async outsideLoop<T> (job: (c: ApplierComponents) => Promise<T>): Promise<T> {
    this.outside++
    try {
      return await job(this.applier)
    } finally {
      this.outside--
    }
  }

  /** With nothing to do, no temp file is anyone's progress any more: remove them all. */
  async cleanTemp (): Promise<void> {
    await sweepTempArea(this.c.root, () => this.outside > 0)
  }
}

export interface SyncPassResult {
  /** an action failed (it waits for its retry) */
  failed: boolean
  /** an action's plan was stale: plan again at once */
  stale: boolean
}

/**
 * Runs one pass's actions through the applier, phase by phase: records each outcome (path
 * errors, retry backoff, events) and marks every touched path to be decided again.
 */
export async function runSyncPass (c: SyncPassComponents, actions: readonly Action[]): Promise<SyncPassResult> {
  // the record each decision was made against; if it moves on, the action is stale
  const bases = new Map(actions.map(a => [a.path, c.store.own(a.path)?.seq ?? 0]))
  const renameSources = new RenameSources(actions, p => c.store.own(p))
  const applier: ApplierComponents = {
    ...c.applier,
    claimRenameSource: record => renameSources.claim(record),
    onLocalChange: () => { c.requestScan() },
    // reported when the copy is made: installing the winner may still fail and be retried
    onConflictCopy: (path, conflictPath, local) => {
      const a = actions.find(x => x.path === path)
      const winner = a !== undefined && 'record' in a ? a.record.modifiedBy : ''
      c.onEvent?.({ type: 'conflict', detail: { folder: c.folder, path, conflictPath, winner, kept: local.modifiedBy } })
    }
  }
  const result: SyncPassResult = { failed: false, stale: false }
  for (const phase of phasesOf(actions)) {
    const phaseStarted = Date.now()
    c.log('%s: %d x %s', c.folder, phase.length, phase[0]!.kind)
    const small = (a: Action): boolean => a.kind === 'fetch' && a.record.size <= SMALL_FILE_BYTES
    await runLimitedBySize(phase, small, { small: DEFAULT_SMALL_FILE_CONCURRENCY, other: DEFAULT_APPLY_CONCURRENCY }, async a => {
      try {
        const base = bases.get(a.path) ?? 0
        await applyAction(a, applier, base, c.signal)
        c.errors.applied(a.path)
        c.backoff.clear(a.path)
        c.onEvent?.({ type: 'file.applied', detail: { folder: c.folder, action: a.kind, path: a.path } })
      } catch (err) {
        if (c.signal.aborted) throw err
        if (err instanceof StalePlanError) { result.stale = true; return }
        if (err instanceof FolderStoppedError) return // nothing is applied until the root is back
        result.failed = true
        const delay = c.backoff.failed(a.path, err instanceof BlocksUnavailableError)
        // per-path error: report `a.path` with (err as FerryError).code (ERR_FERRY_UNSAFE_PATH,
        // ERR_FERRY_NOT_A_DIRECTORY...) in folders[].errors; cleared by the backoff.clear above
        if (err instanceof UnsafePathError) c.log.error('%s: %s %s refused: %s (retry in %d s)', c.folder, a.kind, a.path, err.message, delay / 1000)
        if (err instanceof LocalChangeError) c.requestScan()
        else if (!(err instanceof BlocksUnavailableError)) {
          if (err instanceof DirNotEmptyError) c.requestScan() // new entries inside: recorded, decided again
          c.onEvent?.({ type: 'file.failed', detail: { folder: c.folder, path: a.path, error: (err as Error).message } })
          c.errors.applyFailed(a.path, ferryCode(err), `${a.kind} failed: ${(err as Error).message}`)
        }
        c.log('%s: %s %s failed: %s', c.folder, a.kind, a.path, (err as Error).message)
      } finally {
        // decide again next time, whatever happened
        for (const p of touchedPaths(a)) c.markDirty(p)
      }
    })
    if (phase.length > 1) c.log('%s: %d x %s took %d ms', c.folder, phase.length, phase[0]!.kind, Date.now() - phaseStarted)
  }
  return result
}
