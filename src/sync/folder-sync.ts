import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { contentKey, type FileRecord } from '../model/file-record.ts'
import { openSignedRecord, type SignedRecord } from '../log/signed-record.ts'
import { decodeRecord } from '../log/record-codec.ts'
import type { FolderStore } from '../store/folder-store.ts'
import type { LocalChange } from '../store/folder-store.ts'
import { IGNORE_FILE, IgnoreRules } from '../ignore/ignore-rules.ts'
import { restoreVersion, type RestoreRequest, type RestoreResult } from '../history/restore.ts'
import type { VersionCatalogComponents } from '../history/revisions.ts'
import { TrashIndex } from '../history/trash-index.ts'
import { scanFolder } from '../scanner/scan-folder.ts'
import { FolderWatcher } from '../watcher/folder-watcher.ts'
import type { Action } from './planner.ts'
import { applyAction, DirNotEmptyError, InstallQueue, LocalChangeError, SMALL_FILE_BYTES, StalePlanError, type ApplierComponents } from './file-applier.ts'
import { prepareTempArea, sweepTempArea } from './temp-area.ts'
import { BlocksUnavailableError } from './block-fetcher.ts'
import { TransferProgress, type TransferStatus } from './transfer-progress.ts'
import type { BlockBytes, WantedBlock } from '../../protocols/blocks/index.ts'
import { LocalBlockSource } from './block-source.ts'
import { Trigger } from './trigger.ts'
import { runLimitedBySize } from './run-limited.ts'
import { FolderStoppedError, GuardedLock, type FolderStopped } from './folder-health.ts'
import { FolderGuard, type FolderSettings, type HeldDeletes } from './folder-guard.ts'
import type { FolderEvent } from '../events/event-catalog.ts'
import { reinstallRecords, type RevertResult } from './revert.ts'
import { ferryCode, PathErrors, type PathError } from './path-errors.ts'
import { FreeSpace } from './free-space.ts'
import { UnsafePathError } from './safe-path.ts'
import { RetryBackoff } from './retry-backoff.ts'
import { PlanState } from './plan-state.ts'

export interface FolderSyncComponents {
  folder: string
  root: string
  store: FolderStore
  log: Logger
  /** true when records signed by `device` may change this folder (owner / read-write members) */
  acceptsChangesFrom: (device: string) => boolean
  fetchBlocks: (record: FileRecord, wanted: WantedBlock[], onBlock: (cid: CID, data: BlockBytes) => Promise<void>, signal?: AbortSignal) => Promise<void>
  /** where the folder emits what happens (scans, applied files, conflicts, path errors, health) */
  onEvent?: (e: FolderEvent) => void
  /** the folder's settings in config.json (read each time: a reload applies them) */
  settings?: () => FolderSettings
  /** records the root's file system id for a folder that predates it (config `fsid`) */
  recordFsid?: (fsid: string) => Promise<void>
}

/** what a folder reports (src/events/event-catalog.ts) */
export type { FolderEvent }

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

export const DEFAULT_RESCAN_INTERVAL_MS = 60_000
export const DEFAULT_RETRY_DELAY_MS = 1_000
/** a failing action is retried after 1, 2, 4 ... s, at most this far apart (retry-backoff.ts) */
export const MAX_RETRY_DELAY_MS = 60_000
/** quiet time after the last watcher event before a catch-up full scan */
export const CATCH_UP_SCAN_DELAY_MS = 2_000
/** files assembled at once; small files' block requests are merged (fetch-coalescer.ts) */
export const DEFAULT_APPLY_CONCURRENCY = 64
/**
 * small files (assembled in memory, at most SMALL_FILE_BYTES each: 32 MiB for all) fetched at
 * once, beside the others: the more at once, the fewer and bigger the merged block requests
 */
export const DEFAULT_SMALL_FILE_CONCURRENCY = 512


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
  private readonly applier: ApplierComponents
  private readonly progress: TransferProgress
  /** `.ferryignore`: ignored paths are neither scanned nor planned */
  readonly ignore = new IgnoreRules()
  private rulesFirstFailed = false
  /** blocks of trash files, copied and served like our files' blocks */
  private readonly trashIndex: TrashIndex
  private abort = new AbortController()
  private loops: Array<Promise<void>> = []
  private scanning = false
  private syncing = false
  private rescanTimer?: NodeJS.Timeout
  private lastFullScanAt?: number
  private catchUpTimer?: NodeJS.Timeout
  /** the planner's current decision per path, recomputed only for paths that changed */
  private readonly plan: PlanState
  /** paths the watcher reported since the last scan; a full scan when `fullScan` */
  private watchedPaths = new Set<string>()
  private fullScan = true
  private readonly retryTimers = new Map<Trigger, NodeJS.Timeout>()
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
      isIgnored: p => this.isIgnored(p),
      onUnplanned: p => this.errors.notPlanned(p)
    })
    this.diskLock = new GuardedLock(components.folder, async () => this.guard.stopped ?? await this.guard.verify(), stop => this.guard.stop(stop))
    this.progress = new TransferProgress(components.folder)
    this.trashIndex = new TrashIndex(components.root, components.store)
    this.errors = new PathErrors({
      onError: e => components.onEvent?.({ type: 'file.error', detail: { folder: components.folder, path: e.path, code: e.code, reason: e.reason } }),
      onCleared: path => components.onEvent?.({ type: 'file.error.cleared', detail: { folder: components.folder, path } })
    })
    const base = { root: components.root, store: components.store, diskLock: this.diskLock, fetchBlocks: components.fetchBlocks, log: components.log, space: new FreeSpace(components.root) }
    this.applier = { ...base, installs: new InstallQueue(base), progress: this.progress }
    this.blockSource = new LocalBlockSource(components.root, components.store)
    this.watcher = new FolderWatcher({
      root: components.root,
      log: components.log,
      onChange: paths => {
        // (a file event's type is unknown here: a directory-only pattern is left to the scanner)
        const relevant = paths.filter(p => !this.ignore.ignores(p, false))
        if (relevant.length === 0) return
        for (const p of relevant) this.watchedPaths.add(p)
        this.scanTrigger.request()
        this.scheduleCatchUpScan()
      }
    })
  }

  get folder (): string { return this.c.folder }
  get root (): string { return this.c.root }
  get store (): FolderStore { return this.c.store }
  /** installs running outside the sync loop (ferry revert): the temp area is not swept meanwhile */
  private outsideInstalls = 0

  /**
   * Runs `job` with the applier outside the sync loop (`ferry revert`). Its temp files are not
   * swept by an idle sync pass meanwhile (a pass with nothing to do removes every temp file:
   * under load one was removed between a revert's write and its rename).
   */
  async applyOutsideLoop<T> (job: (c: ApplierComponents) => Promise<T>): Promise<T> {
    this.assertRunning()
    this.outsideInstalls++
    try {
      return await job(this.applier)
    } finally {
      this.outsideInstalls--
    }
  }

  /** the bytes of one of our blocks, for a peer; undefined when no local file holds it */
  async readBlock (cid: CID): Promise<Uint8Array | undefined> {
    return await this.blockSource.read(cid)
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
    for (const t of this.retryTimers.values()) clearTimeout(t)
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
    this.fullScan = true
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
    const signal = this.abort.signal
    while (!signal.aborted) {
      try {
        await trigger.next(signal)
        await body()
      } catch (err) {
        if (signal.aborted) return
        this.c.log.error('%s: %s', this.c.folder, (err as Error).stack ?? err)
      }
    }
  }

  private async scanOnce (): Promise<void> {
    if (this.guard.stopped !== undefined) return
    this.scanning = true
    const started = Date.now()
    let full = this.fullScan
    const paths = this.watchedPaths
    this.fullScan = false
    this.watchedPaths = new Set()
    try {
      if ((full || paths.has(IGNORE_FILE)) && await this.ignore.reload(this.c.root)) {
        // other rules: every decision again, and a full walk for paths no longer ignored
        this.invalidatePlan()
        full = true
      }
      const tombstones: LocalChange[] = []
      const result = await scanFolder({
        ...(full ? {} : { paths }),
        onTombstone: change => { if (!this.reinstalling.has(change.path)) tombstones.push(change) },
        ignored: (p, isDir) => this.ignore.ignores(p, isDir),
        root: this.c.root,
        store: this.c.store,
        log: this.c.log,
        signal: this.abort.signal,
        commit: async changes => {
          const done = await this.diskLock.run(async () => await this.c.store.commitLocal(changes))
          // a change the applier overtook: look again once the dust settles
          if (done.length < changes.length) {
            this.fullScan = true
            this.retryLater(this.scanTrigger)
          }
          return done.length
        }
      })
      // every delete waits for the guard's settle time and mass-delete protection
      this.guard.addTombstones(tombstones)
      this.errors.scanned(result.problems, result.looked)
      if (result.unstable.length > 0) {
        for (const p of result.unstable) this.watchedPaths.add(p)
        this.retryLater(this.scanTrigger)
      }
      if (full) this.lastFullScanAt = Date.now()
      this.c.log('%s: %s scan: %d files, %d changed, %d unstable', this.c.folder, full ? 'full' : `partial (${paths.size} paths)`, result.files, result.changed, result.unstable.length)
      if (result.changed > 0) this.c.onEvent?.({ type: 'folder.scanned', detail: { folder: this.c.folder, changed: result.changed, files: result.files, ms: Date.now() - started } })
    } catch (err) {
      if (!(err instanceof FolderStoppedError)) throw err // (the guard stopped the folder and said why)
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
    const held = this.guard.deletes.takeHeld()
    const records = held.map(c => this.c.store.own(c.path)).filter((r): r is FileRecord => r !== undefined && !r.deleted)
    for (const r of records) this.reinstalling.add(r.path)
    try {
      const result = await this.applyOutsideLoop(async c => await reinstallRecords(records, c, this.abort.signal))
      this.c.log('%s: %d held deletes reverted, %d failed', this.c.folder, result.reverted.length, result.failed.length)
      return result
    } finally {
      for (const r of records) this.reinstalling.delete(r.path)
      this.requestScan()
    }
  }

  get hasHeldDeletes (): boolean { return this.guard.deletes.held.size > 0 }

  private retryLater (trigger: Trigger): void {
    if (this.retryTimers.has(trigger)) return
    this.retryTimers.set(trigger, setTimeout(() => {
      this.retryTimers.delete(trigger)
      trigger.request()
    }, DEFAULT_RETRY_DELAY_MS))
  }

  /** The planner's actions for the whole folder; only paths that changed are decided again. */
  currentPlan (): Action[] {
    return this.plan.current()
  }

  /** The trash changed (the applier or a restore put something there, or the sweep removed some). */
  refreshTrash (): void {
    this.trashIndex.refresh().catch(err => { this.c.log.error('%s: indexing the trash: %s', this.c.folder, (err as Error).message) })
  }

  /** Brings back a version of a file as a new version of ours (src/history/restore.ts). */
  async restore (req: RestoreRequest, catalog: Pick<VersionCatalogComponents, 'members' | 'remoteHistory'>): Promise<RestoreResult> {
    this.assertRunning()
    this.refreshTrash()
    return await restoreVersion({
      folder: this.c.folder,
      root: this.c.root,
      store: this.c.store,
      ...catalog,
      diskLock: this.diskLock,
      ignore: this.ignore,
      fetchBlocks: this.c.fetchBlocks,
      scanPaths: paths => {
        for (const p of paths) this.watchedPaths.add(p)
        this.scanTrigger.request()
      },
      log: this.c.log
    }, req, this.abort.signal)
  }

  /** Ignored paths are left alone both ways: a peer's version of one is not applied here. */
  private isIgnored (path: string): boolean {
    if (!this.ignore.active) return false
    const isDir = this.c.store.own(path)?.type === 'dir' || this.c.store.remoteOf(path).some(r => r.type === 'dir')
    return this.ignore.ignores(path, isDir)
  }

  private async syncOnce (): Promise<void> {
    if (this.guard.stopped !== undefined) return
    this.syncing = true
    try {
      let actions = this.currentPlan()
      if (actions.length === 0) {
        await this.cleanTemp()
        return
      }
      // new ignore rules from a peer apply before anything else is installed under the old ones
      // (unless that failed last time: the rules file must not hold up the folder)
      const rules = actions.find(a => a.path === IGNORE_FILE)
      const rulesFirst = rules !== undefined && actions.length > 1 && !this.rulesFirstFailed
      if (rulesFirst) {
        actions = [rules]
        this.syncTrigger.request()
      }
      // actions that failed lately wait their turn (retry-backoff.ts)
      const now = Date.now()
      if (actions.some(a => !this.backoff.ready(a.path, now))) {
        actions = actions.filter(a => this.backoff.ready(a.path, now))
        this.backoff.wakeWhenDue(() => { this.syncTrigger.request() })
        if (actions.length === 0) return
      }
      // the record each decision was made against; if it moves on, the action is stale
      const bases = new Map(actions.map(a => [a.path, this.c.store.own(a.path)?.seq ?? 0]))
      // files this pass deletes, by content: a fetch of the same content is a rename
      const renameSources = new Map<string, Array<{ path: string, base: number }>>()
      for (const a of actions) {
        const own = this.c.store.own(a.path)
        if (a.kind !== 'delete' || own === undefined || own.deleted || own.type !== 'file' || own.size === 0) continue
        const key = contentKey(own)
        renameSources.set(key, [...(renameSources.get(key) ?? []), { path: a.path, base: own.seq }])
      }
      const applier: ApplierComponents = {
        ...this.applier,
        claimRenameSource: record => renameSources.get(contentKey(record))?.shift(),
        // reported when the copy is made: installing the winner may still fail and be retried
        onConflictCopy: (path, conflictPath, local) => {
          const a = actions.find(x => x.path === path)
          const winner = a !== undefined && 'record' in a ? a.record.modifiedBy : ''
          this.c.onEvent?.({ type: 'conflict', detail: { folder: this.c.folder, path, conflictPath, winner, kept: local.modifiedBy } })
        }
      }
      let failed = false
      let stale = false
      // phases keep the planner's order: dirs, content, deletions (deletions one by one, deep first)
      const phases: Action[][] = []
      for (const a of actions) {
        const last = phases.at(-1)
        if (last !== undefined && last[0]!.kind === a.kind && a.kind !== 'delete' && a.kind !== 'mkdir' && a.kind !== 'dir-over-file') last.push(a)
        else phases.push([a])
      }
      for (const phase of phases) {
        const phaseStarted = Date.now()
        this.c.log('%s: %d x %s', this.c.folder, phase.length, phase[0]!.kind)
        const small = (a: Action): boolean => a.kind === 'fetch' && a.record.size <= SMALL_FILE_BYTES
        await runLimitedBySize(phase, small, { small: DEFAULT_SMALL_FILE_CONCURRENCY, other: DEFAULT_APPLY_CONCURRENCY }, async a => {
          try {
            const base = bases.get(a.path) ?? 0
            await applyAction(a, applier, base, this.abort.signal)
            this.errors.applied(a.path)
            this.backoff.clear(a.path)
            this.c.onEvent?.({ type: 'file.applied', detail: { folder: this.c.folder, action: a.kind, path: a.path } })
          } catch (err) {
            if (this.abort.signal.aborted) throw err
            if (err instanceof StalePlanError) { stale = true; return }
            if (err instanceof FolderStoppedError) return // nothing is applied until the root is back
            failed = true
            const delay = this.backoff.failed(a.path, err instanceof BlocksUnavailableError)
            // per-path error: report `a.path` with (err as FerryError).code (ERR_FERRY_UNSAFE_PATH,
            // ERR_FERRY_NOT_A_DIRECTORY...) in folders[].errors; cleared by the backoff.clear above
            if (err instanceof UnsafePathError) this.c.log.error('%s: %s %s refused: %s (retry in %d s)', this.c.folder, a.kind, a.path, err.message, delay / 1000)
            if (err instanceof LocalChangeError) this.scanTrigger.request()
            else if (!(err instanceof BlocksUnavailableError)) {
              if (err instanceof DirNotEmptyError) this.scanTrigger.request() // new entries inside: recorded, decided again
              this.c.onEvent?.({ type: 'file.failed', detail: { folder: this.c.folder, path: a.path, error: (err as Error).message } })
              this.errors.applyFailed(a.path, ferryCode(err), `${a.kind} failed: ${(err as Error).message}`)
            }
            this.c.log('%s: %s %s failed: %s', this.c.folder, a.kind, a.path, (err as Error).message)
          } finally {
            // decide again next time, whatever happened (a conflict copy also changes what holds its name)
            this.plan.markDirty(a.path)
            if ((a.kind === 'conflict' || a.kind === 'dir-over-file') && a.conflictPath !== undefined) this.plan.markDirty(a.conflictPath)
          }
        })
        if (phase.length > 1) this.c.log('%s: %d x %s took %d ms', this.c.folder, phase.length, phase[0]!.kind, Date.now() - phaseStarted)
      }
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

  /** With nothing to do, no temp file is anyone's progress any more: remove them all. */
  private async cleanTemp (): Promise<void> {
    await sweepTempArea(this.c.root, () => this.outsideInstalls > 0)
  }

  /**
   * Verifies and stores records a peer sent. A bad signature or malformed record throws (the
   * caller cuts the peer off); records of devices that may not change this folder are dropped.
   */
  async receiveRecords (pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Promise<number> {
    const checks: Array<Promise<SignedRecord>> = []
    for (const [bytes, signature] of pairs) {
      // cheap checks first: only records that would be kept are worth a signature check
      const record = decodeRecord(bytes)
      if (record.folder !== this.c.folder) continue
      if (record.device === this.c.store.self || !this.c.acceptsChangesFrom(record.device)) continue
      // verified on the thread pool, all of the batch at once; any failure rejects the batch
      checks.push(openSignedRecord(bytes, signature, record))
    }
    return await this.c.store.acceptRemote(await Promise.all(checks))
  }

  transfers (): TransferStatus[] {
    return this.progress.list()
  }

  /** Cheap enough to poll: nothing is sorted, and the state hash is kept up to date per path. */
  status (): FolderStatus {
    const { needFiles, needBytes } = this.plan.need()
    const stopped = this.guard.stopped
    const held = this.guard.heldDeletes()
    const busy = this.scanning || this.syncing || this.scanTrigger.pending || this.syncTrigger.pending || this.guard.busy
    const inSync = this.plan.size === 0 && !busy && stopped === undefined && held === undefined
    const { localFiles, localBytes } = this.plan.summary
    return { id: this.c.folder, path: this.c.root, inSync, needFiles, needBytes, scanning: this.scanning, stateHash: this.plan.summary.hash(), localFiles, localBytes, transfers: this.progress.list(), errors: this.errors.list(), errorCount: this.errors.count, ...(stopped === undefined ? {} : { stopped }), ...(held === undefined ? {} : { heldDeletes: held }), ...(this.lastFullScanAt === undefined ? {} : { lastFullScanAt: this.lastFullScanAt }) }
  }
}
