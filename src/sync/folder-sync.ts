import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { openRemoteRecords } from './remote-records.ts'
import type { FolderStore } from '../store/folder-store.ts'
import type { LocalChange } from '../store/local-index.ts'
import { IgnoreRules } from '../ignore/ignore-rules.ts'
import { FolderWatcher } from '../watcher/folder-watcher.ts'
import type { Action, DeviceLabel } from './planner.ts'
import type { ApplierComponents, FetchBlocks } from './applier-components.ts'
import { prepareTempArea } from './temp-area.ts'
import type { TransferStatus } from './transfer-progress.ts'
import { LocalBlockSource } from './block-source.ts'
import { DelayedRequests, runTriggered, Trigger } from './trigger.ts'
import { FolderStoppedError, GuardedLock, type FolderStopped } from './folder-health.ts'
import { FolderGuard, type FolderSettings } from './folder-guard.ts'
import { reinstallHeldDeletes, type RevertResult } from './revert.ts'
import { PathErrors } from './path-errors.ts'
import { RetryBackoff } from './retry-backoff.ts'
import { ignoresRecordPath, PlanState } from './plan-state.ts'
import { choosePass } from './pass-plan.ts'
import { ActionExecutor } from './sync-pass.ts'
import { runScanPass } from './scan-pass.ts'
import { ScanRequests } from './scan-requests.ts'
import type { Trash } from './trash-port.ts'
import type { FolderEvent } from './folder-events.ts'
import type { FolderStatus } from './folder-status.ts'

export type { FolderEvent } from './folder-events.ts'
export type { FolderStatus } from './folder-status.ts'
export { DEFAULT_APPLY_CONCURRENCY, DEFAULT_SMALL_FILE_CONCURRENCY } from './sync-pass.ts'

export interface FolderSyncComponents {
  folder: string
  root: string
  store: FolderStore
  log: Logger
  /** true when records signed by `device` may change this folder (owner / read-write members) */
  acceptsChangesFrom: (device: string) => boolean
  fetchBlocks: FetchBlocks
  /** where the applier keeps the files it replaces or deletes (src/history implements it) */
  trash: Trash
  /** where the folder emits what happens (scans, applied files, conflicts, path errors, health) */
  onEvent?: (e: FolderEvent) => void
  /** the folder's settings in config.json (read each time: a reload applies them) */
  settings?: () => FolderSettings
  /** records the root's file system id for a folder that predates it (config `fsid`) */
  recordFsid?: (fsid: string) => Promise<void>
  /** how conflict copies name a device (conflict-name.ts `conflictLabel`; default: the last 7 characters of its id) */
  deviceLabel?: DeviceLabel
}

export const DEFAULT_RESCAN_INTERVAL_MS = 60_000
export const DEFAULT_RETRY_DELAY_MS = 1_000
/** a failing action is retried after 1, 2, 4 ... s, at most this far apart (retry-backoff.ts) */
export const MAX_RETRY_DELAY_MS = 60_000
/** quiet time after the last watcher event before a catch-up full scan */
export const CATCH_UP_SCAN_DELAY_MS = 2_000

/**
 * One synced folder: keeps the local index true to the disk (watcher + scanner) and the disk
 * true to the global state (planner + applier). Scans and syncs run in two loops that meet only
 * at the disk lock, where "check, change, record" happens atomically.
 */
export class FolderSync {
  private readonly c: FolderSyncComponents
  private readonly diskLock: GuardedLock
  /** root health (stop / resume) and the deletes' settle time and mass-delete protection */
  private readonly guard: FolderGuard
  /** paths `ferry revert` is bringing back: a scan meanwhile does not tombstone them again */
  private readonly reinstalling = new Set<string>()
  private readonly scanTrigger = new Trigger()
  private readonly syncTrigger = new Trigger()
  private readonly watcher: FolderWatcher
  /** runs the plan's actions: the applier, its install queue, transfer progress, temp sweep */
  private readonly executor: ActionExecutor
  /** `.ferryignore`: ignored paths are neither scanned nor planned */
  readonly ignore = new IgnoreRules()
  private rulesFirstFailed = false
  private abort = new AbortController()
  private loops: Array<Promise<void>> = []
  private scanning = false
  private syncing = false
  private rescanTimer?: NodeJS.Timeout
  private lastFullScanAt?: number
  private catchUpTimer?: NodeJS.Timeout
  /** the planner's current decision per path, recomputed only for paths that changed */
  private readonly plan: PlanState
  /** what the next scan looks at: the paths the watcher reported since the last one, or everything */
  private readonly scanRequests = new ScanRequests()
  /** a scan that must look again does so after DEFAULT_RETRY_DELAY_MS */
  private readonly retries = new DelayedRequests(DEFAULT_RETRY_DELAY_MS)
  /** failing actions wait, per path, longer after each failure */
  private readonly backoff = new RetryBackoff(DEFAULT_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS)
  private unsubscribe?: () => void
  /** our files' blocks as peers ask for them */
  private readonly blockSource: LocalBlockSource
  /** per-path problems: unreadable files, names that cannot be synced, downloads that fail */
  readonly errors: PathErrors

  constructor (components: FolderSyncComponents) {
    this.c = components
    this.guard = new FolderGuard({
      folder: components.folder,
      root: components.root,
      store: components.store,
      log: components.log,
      settings: components.settings ?? (() => ({})),
      ...(components.recordFsid === undefined ? {} : { recordFsid: components.recordFsid }),
      commit: async changes => await this.commitTombstones(changes),
      liveFiles: () => { this.plan.refresh(); return this.plan.summary.localFiles },
      onEvent: e => this.c.onEvent?.(e),
      onStopped: () => { void this.watcher.stop() },
      onResumed: async () => {
        await this.activate()
        this.invalidatePlan()
      }
    })
    this.plan = new PlanState({
      paths: () => components.store.paths(),
      own: p => components.store.own(p),
      remoteOf: p => components.store.remoteOf(p, components.acceptsChangesFrom),
      isIgnored: p => ignoresRecordPath(this.ignore, components.store, p),
      onUnplanned: p => this.errors.notPlanned(p),
      ...(components.deviceLabel === undefined ? {} : { deviceLabel: components.deviceLabel })
    })
    this.diskLock = new GuardedLock(components.folder, async () => this.guard.stopped ?? await this.guard.verify(), stop => this.guard.stop(stop))
    this.errors = new PathErrors({
      onError: e => components.onEvent?.({ type: 'file.error', detail: { folder: components.folder, path: e.path, code: e.code, reason: e.reason } }),
      onCleared: path => components.onEvent?.({ type: 'file.error.cleared', detail: { folder: components.folder, path } })
    })
    this.executor = new ActionExecutor({
      folder: components.folder,
      root: components.root,
      store: components.store,
      log: components.log,
      diskLock: this.diskLock,
      fetchBlocks: components.fetchBlocks,
      trash: components.trash,
      errors: this.errors,
      backoff: this.backoff,
      markDirty: p => this.plan.markDirty(p),
      requestScan: () => this.scanTrigger.request(),
      onEvent: e => this.c.onEvent?.(e)
    })
    this.blockSource = new LocalBlockSource(components.root, components.store)
    this.watcher = new FolderWatcher({
      root: components.root,
      log: components.log,
      onError: error => components.onEvent?.({ type: 'watcher.failed', detail: { folder: components.folder, root: components.root, error } }),
      onChange: paths => {
        // (a file event's type is unknown here: a directory-only pattern is left to the scanner)
        const relevant = paths.filter(p => !this.ignore.ignores(p, false))
        if (relevant.length === 0) return
        this.scanRequests.add(relevant)
        this.scanTrigger.request()
        this.scheduleCatchUpScan()
      }
    })
  }

  get folder (): string { return this.c.folder }
  get root (): string { return this.c.root }
  get store (): FolderStore { return this.c.store }
  /** Runs `job` with the applier outside the sync loop (`ferry revert`, restore): see ActionExecutor. */
  async applyOutsideLoop<T> (job: (c: ApplierComponents) => Promise<T>): Promise<T> {
    this.assertRunning()
    return await this.executor.outsideLoop(job)
  }

  /** the bytes of one of our blocks, for a peer; undefined when no local file holds it (`into`: LocalBlockSource.read) */
  async readBlock (cid: CID, into?: Uint8Array): Promise<Uint8Array | undefined> {
    return await this.blockSource.read(cid, into)
  }

  /**
   * Starts syncing, or, when the root is not as it must be (folder-health.ts), starts stopped:
   * the root of an existing folder is never created here, and the folder resumes by itself once
   * the root is back.
   */
  async start (options: { rescanIntervalMs?: number } = {}): Promise<void> {
    const stop = await this.guard.inspect()
    this.abort = new AbortController()
    this.unsubscribe = this.c.store.onChange(paths => {
      for (const p of paths) {
        this.plan.markDirty(p)
        // the path's records changed: a failing action on it is tried again at once
        this.backoff.clear(p)
      }
      this.syncTrigger.request()
    })
    this.loops = [this.loop(this.scanTrigger, () => this.scanOnce()), this.loop(this.syncTrigger, () => this.syncOnce())]
    this.rescanTimer = setInterval(() => this.requestScan(), options.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS)
    this.guard.start()
    if (stop !== undefined) this.guard.stop(stop)
    else await this.activate()
  }

  /** The root is there (start, resume): temp area, rules, trash, a fresh watcher on it, a full scan. */
  private async activate (): Promise<void> {
    // temp files of an interrupted run are kept: downloads resume from them (cleanTemp)
    try {
      await prepareTempArea(this.c.root)
    } catch (err) {
      // a link planted as `.ferry`: nothing is written through it; every install of this folder
      // fails on its temp path (ERR_FERRY_UNSAFE_PATH) until it is replaced by a directory
      this.c.log.error('%s: temp area: %s', this.c.folder, (err as Error).message)
    }
    await this.ignore.reload(this.c.root)
    this.refreshTrash()
    // (on resume: the old watch may follow the directory that was moved away)
    await this.watcher.stop()
    await this.watcher.start()
    this.requestScan()
    this.requestSync()
  }

  get stopped (): FolderStopped | undefined { return this.guard.stopped }

  private assertRunning (): void {
    const stopped = this.guard.stopped
    if (stopped !== undefined) throw new FolderStoppedError(this.c.folder, stopped)
  }

  async stop (): Promise<void> {
    this.guard.close()
    await this.watcher.stop()
    clearInterval(this.rescanTimer)
    clearTimeout(this.catchUpTimer)
    this.retries.stop()
    this.backoff.stop()
    this.unsubscribe?.()
    this.abort.abort()
    await Promise.allSettled(this.loops)
    // wait for an in-flight commit to land before the database closes
    await this.diskLock.drain()
    await this.blockSource.close()
  }

  /**
   * A full walk a little after watcher activity settles: native watchers can drop events under
   * load or when a watched directory is replaced, and this bounds how long such a change waits
   * (otherwise until the periodic rescan).
   */
  private scheduleCatchUpScan (): void {
    clearTimeout(this.catchUpTimer)
    this.catchUpTimer = setTimeout(() => this.requestScan(), CATCH_UP_SCAN_DELAY_MS)
  }

  /** a full walk of the folder (the safety net under the watcher) */
  requestScan (): void {
    this.scanRequests.requestFull()
    this.scanTrigger.request()
  }

  /** something outside changed (a peer connected, an index subscription caught up): sync */
  requestSync (): void {
    this.backoff.clearWaitingForPeers()
    this.syncTrigger.request()
  }

  /** who may change the folder changed: every decision must be made again */
  invalidatePlan (): void {
    this.plan.markAllDirty()
    this.syncTrigger.request()
  }

  private async loop (trigger: Trigger, body: () => Promise<void>): Promise<void> {
    await runTriggered({ trigger, body, signal: this.abort.signal, onError: err => { this.c.log.error('%s: %s', this.c.folder, (err as Error).stack ?? err) } })
  }

  /** One pass of the scan loop (scan-pass.ts). */
  private async scanOnce (): Promise<void> {
    if (this.guard.stopped !== undefined) return
    this.scanning = true
    try {
      const full = await runScanPass({
        folder: this.c.folder,
        root: this.c.root,
        store: this.c.store,
        log: this.c.log,
        ignore: this.ignore,
        diskLock: this.diskLock,
        errors: this.errors,
        reinstalling: this.reinstalling,
        addTombstones: changes => this.guard.addTombstones(changes),
        invalidatePlan: () => this.invalidatePlan(),
        retryLater: paths => {
          if (paths === undefined) this.scanRequests.requestFull()
          else this.scanRequests.add(paths)
          this.retries.request(this.scanTrigger)
        },
        onEvent: e => this.c.onEvent?.(e),
        signal: this.abort.signal
      }, this.scanRequests.take())
      if (full === true) this.lastFullScanAt = Date.now()
    } finally {
      this.scanning = false
    }
  }

  /** Commits tombstones under the disk lock, which checks the root and marker first. */
  private async commitTombstones (changes: LocalChange[]): Promise<LocalChange[]> {
    const done = await this.diskLock.run(async () => await this.c.store.commitLocal(changes))
    if (done.length < changes.length) this.requestScan()
    const landed = new Set(done.map(r => r.path))
    return changes.filter(c => landed.has(c.path))
  }

  /** `ferry folder confirm-deletes`: the deletes mass-delete protection holds are recorded. */
  async confirmHeldDeletes (): Promise<number> {
    this.assertRunning()
    return await this.guard.confirm()
  }

  /** `ferry revert` of held deletes: the files come back (from local blocks or peers). */
  async revertHeldDeletes (): Promise<RevertResult> {
    this.assertRunning()
    try {
      return await reinstallHeldDeletes({ folder: this.c.folder, store: this.c.store, log: this.c.log, deletes: this.guard.deletes, reinstalling: this.reinstalling, applyOutsideLoop: async job => await this.applyOutsideLoop(job), signal: this.abort.signal })
    } finally {
      this.requestScan()
    }
  }

  get hasHeldDeletes (): boolean { return this.guard.deletes.held.size > 0 }

  /** The planner's actions for the whole folder; only paths that changed are decided again. */
  currentPlan (): Action[] {
    return this.plan.current()
  }

  /** The trash changed (the applier or a restore put something there, or the sweep removed some). */
  refreshTrash (): void {
    this.c.trash.changed().catch(err => { this.c.log.error('%s: indexing the trash: %s', this.c.folder, (err as Error).message) })
  }

  /** the scanner looks at these paths now */
  scanPaths (paths: Iterable<string>): void {
    this.scanRequests.add(paths)
    this.scanTrigger.request()
  }

  /** aborted when the folder stops syncing */
  get signal (): AbortSignal { return this.abort.signal }

  /** One pass of the sync loop: the plan's actions (those not waiting for a retry) applied. */
  private async syncOnce (): Promise<void> {
    if (this.guard.stopped !== undefined) return
    this.syncing = true
    try {
      const plan = this.currentPlan()
      if (plan.length === 0) {
        await this.executor.cleanTemp()
        return
      }
      const now = Date.now()
      const { actions, rules, rulesFirst, deferred } = choosePass(plan, { rulesFirstFailed: this.rulesFirstFailed, ready: p => this.backoff.ready(p, now) })
      if (rulesFirst) this.syncTrigger.request()
      if (deferred) {
        this.backoff.wakeWhenDue(() => { this.syncTrigger.request() })
        if (actions.length === 0) return
      }
      const { failed, stale } = await this.executor.run(actions, this.abort.signal)
      if (stale) this.syncTrigger.request()
      if (failed) this.backoff.wakeWhenDue(() => { this.syncTrigger.request() })
      // replacements and deletes keep the old files in the trash
      if (actions.some(a => a.kind !== 'adopt')) this.refreshTrash()
      this.rulesFirstFailed = rulesFirst && failed
      if (rules !== undefined && await this.ignore.reload(this.c.root)) {
        this.invalidatePlan()
        this.requestScan()
      }
    } finally {
      this.syncing = false
    }
  }

  /**
   * Verifies and stores records a peer sent. A bad signature or malformed record throws (the
   * caller cuts the peer off); records of devices that may not change this folder are dropped.
   */
  async receiveRecords (pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Promise<number> {
    return await this.c.store.acceptRemote(await openRemoteRecords(pairs, { folder: this.c.folder, self: this.c.store.self, acceptsChangesFrom: this.c.acceptsChangesFrom }))
  }

  transfers (): TransferStatus[] {
    return this.executor.progress.list()
  }

  /** Cheap enough to poll: nothing is sorted, and the state hash is kept up to date per path. */
  status (): FolderStatus {
    const { needFiles, needBytes } = this.plan.need()
    const stopped = this.guard.stopped
    const held = this.guard.heldDeletes()
    const busy = this.scanning || this.syncing || this.scanTrigger.pending || this.syncTrigger.pending || this.guard.busy
    const inSync = this.plan.size === 0 && !busy && stopped === undefined && held === undefined
    const { localFiles, localBytes } = this.plan.summary
    return { id: this.c.folder, path: this.c.root, inSync, needFiles, needBytes, scanning: this.scanning, stateHash: this.plan.summary.hash(), localFiles, localBytes, transfers: this.executor.progress.list(), errors: this.errors.list(), errorCount: this.errors.count, ...(stopped === undefined ? {} : { stopped }), ...(held === undefined ? {} : { heldDeletes: held }), ...(this.lastFullScanAt === undefined ? {} : { lastFullScanAt: this.lastFullScanAt }) }
  }
}
