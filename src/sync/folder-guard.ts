import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '@libp2p/logger'
import type { FolderStore } from '../store/folder-store.ts'
import type { LocalChange } from '../store/local-index.ts'
import { adoptUnmarkedRoot, checkRoot, fsidOf, type FolderStop, type FolderStopped } from './folder-health.ts'
import { DeleteGuard, deleteProtectionOf, type DeleteProtection } from './delete-guard.ts'
import type { GuardEvent } from '../events/event-catalog.ts'

/** how often the root is checked (while running, and while stopped to resume by itself) */
export const HEALTH_POLL_MS = 2_000
/** status lists at most this many held paths (the count is exact) */
export const MAX_LISTED_HELD = 20

/** per-folder settings from config.json that the guard reads each time (a reload applies them) */
export interface FolderSettings {
  /** file system id of the root, recorded at `folder add` */
  fsid?: string
  deleteProtection?: Partial<DeleteProtection>
}

/** folder health and held deletes (src/events/event-catalog.ts) */
export type { GuardEvent }

export interface HeldDeletes { count: number, paths: string[], since: number, reason: string }

export interface FolderGuardComponents {
  folder: string
  root: string
  store: FolderStore
  log: Logger
  settings: () => FolderSettings
  /** persists the file system id of a folder that predates it (config `fsid`) */
  recordFsid?: (fsid: string) => Promise<void>
  /** commits tombstones under the (guarded) disk lock; returns those that landed */
  commit: (changes: LocalChange[]) => Promise<LocalChange[]>
  /** our live file records now */
  liveFiles: () => number
  onEvent: (e: GuardEvent) => void
  /** the folder just stopped: stop watching */
  onStopped: () => void
  /** the root is back: watch it again, scan, sync */
  onResumed: () => Promise<void>
}

/**
 * Keeps a folder from turning a lost disk or a mass delete into deletes everywhere: checks the
 * root (folder-health.ts) every few seconds and before every commit, stops and resumes the
 * folder, and passes the scanner's tombstones through the settle time and mass-delete
 * protection (delete-guard.ts) before they are committed.
 */
export class FolderGuard {
  private readonly c: FolderGuardComponents
  readonly deletes = new DeleteGuard()
  stopped?: FolderStopped
  private pollTimer?: NodeJS.Timeout
  private flushTimer?: NodeJS.Timeout
  private flushing = false
  private polling = false
  private closed = false

  constructor (components: FolderGuardComponents) {
    this.c = components
  }

  /** Root, file system and marker as config says they must be (no side effects). */
  async verify (): Promise<FolderStop | undefined> {
    return await checkRoot(this.c.root, this.c.folder, this.c.settings().fsid)
  }

  /**
   * verify(), and for a folder that predates markers (no `fsid` in config) the one-time
   * adoption: marker written if safe, file system id recorded.
   */
  async inspect (): Promise<FolderStop | undefined> {
    const fsid = this.c.settings().fsid
    let stop = await this.verify()
    if (fsid !== undefined || this.c.recordFsid === undefined) return stop
    if (stop?.code === 'ERR_FERRY_MARKER_MISSING' && await adoptUnmarkedRoot(this.c.root, this.c.folder, this.hasLiveRecords())) {
      this.c.log('%s: marker %s written in %s (folder from before markers)', this.c.folder, '.ferry/folder', this.c.root)
      stop = await this.verify()
    }
    if (stop === undefined) await this.c.recordFsid(await fsidOf(this.c.root)).catch(err => { this.c.log.error('%s: recording the file system id: %s', this.c.folder, (err as Error).message) })
    return stop
  }

  private hasLiveRecords (): boolean {
    for (const r of this.c.store.ownRecords().values()) if (!r.deleted) return true
    return false
  }

  start (): void {
    this.pollTimer = setInterval(() => { void this.poll() }, HEALTH_POLL_MS)
  }

  close (): void {
    this.closed = true
    clearInterval(this.pollTimer)
    clearTimeout(this.flushTimer)
  }

  /** Stops the folder (idempotent): nothing is scanned, committed or applied until resume. */
  stop (stop: FolderStop): void {
    if (this.stopped !== undefined || this.closed) return
    this.stopped = { ...stop, since: Date.now() }
    const dropped = this.deletes.pending.size
    this.deletes.dropPending()
    this.c.log.error('%s: stopped: %s%s', this.c.folder, stop.reason, dropped > 0 ? ` (${dropped} deletes seen meanwhile are not recorded)` : '')
    this.c.onEvent({ type: 'folder.stopped', detail: { folder: this.c.folder, code: stop.code, reason: stop.reason } })
    this.c.onStopped()
  }

  private async poll (): Promise<void> {
    if (this.polling || this.closed) return
    this.polling = true
    try {
      if (this.stopped === undefined) {
        const stop = await this.verify()
        if (stop !== undefined) this.stop(stop)
        return
      }
      const still = await this.inspect()
      if (this.closed) return
      if (still !== undefined) {
        // still stopped, maybe for another reason now (what status shows)
        if (still.code !== this.stopped.code) {
          this.stopped = { ...still, since: this.stopped.since }
          this.c.log.error('%s: still stopped: %s', this.c.folder, still.reason)
        }
        return
      }
      this.stopped = undefined
      this.c.log('%s: resumed: the root is back', this.c.folder)
      this.c.onEvent({ type: 'folder.resumed', detail: { folder: this.c.folder } })
      await this.c.onResumed()
    } catch (err) {
      this.c.log.error('%s: checking the root: %s', this.c.folder, (err as Error).message)
    } finally {
      this.polling = false
    }
  }

  /** The scanner's tombstones: they wait for the settle time (delete-guard.ts). */
  addTombstones (changes: readonly LocalChange[]): void {
    if (changes.length === 0 || this.stopped !== undefined) return
    this.deletes.add(changes)
    this.scheduleFlush()
  }

  /** deletes wait to be judged */
  get busy (): boolean { return this.deletes.pending.size > 0 || this.flushing }

  private scheduleFlush (): void {
    const due = this.deletes.dueIn()
    if (due === undefined || this.closed) return
    clearTimeout(this.flushTimer)
    this.flushTimer = setTimeout(() => { void this.flush() }, due)
  }

  /** Pending deletes that are due: root checked, still valid, then committed or held. */
  private async flush (): Promise<void> {
    if (this.flushing) return
    if ((this.deletes.dueIn() ?? 1) > 0) { this.scheduleFlush(); return }
    this.flushing = true
    try {
      const changes = this.deletes.takePending()
      if (this.stopped !== undefined) return
      const stop = await this.verify()
      if (stop !== undefined) { this.stop(stop); return }
      const valid = await this.stillGone(changes)
      const protection = deleteProtectionOf(this.c.settings().deleteProtection)
      const heldBefore = this.deletes.held.size
      const { commit, held } = this.deletes.decide(valid, this.c.liveFiles(), protection)
      if (held && this.deletes.held.size !== heldBefore) {
        const h = this.heldDeletes()!
        this.c.log.error('%s: holding %d deletes (%s): `ferry folder confirm-deletes %s` records them, `ferry revert %s` brings the files back', this.c.folder, h.count, h.reason, this.c.folder, this.c.folder)
        this.c.onEvent({ type: 'deletes.held', detail: { folder: this.c.folder, count: h.count, paths: h.paths, reason: h.reason } })
      }
      if (commit.length > 0) this.deletes.committed(await this.c.commit(commit))
    } catch (err) {
      this.c.log.error('%s: recording deletes: %s', this.c.folder, (err as Error).message)
    } finally {
      this.flushing = false
      this.scheduleFlush()
    }
  }

  /** The deletes whose path is still gone and whose record is still the one they were made from. */
  async stillGone (changes: readonly LocalChange[]): Promise<LocalChange[]> {
    const out: LocalChange[] = []
    for (const ch of changes) {
      if ((this.c.store.own(ch.path)?.seq ?? 0) !== ch.base) continue
      const there = await lstat(join(this.c.root, ch.path)).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT' && err.code !== 'ENOTDIR')
      if (!there) out.push(ch)
    }
    return out
  }

  heldDeletes (): HeldDeletes | undefined {
    const d = this.deletes
    if (d.held.size === 0) return undefined
    return { count: d.held.size, paths: [...d.held.keys()].sort().slice(0, MAX_LISTED_HELD), since: d.heldSince ?? Date.now(), reason: d.heldReason ?? '' }
  }

  /** `ferry folder confirm-deletes`: the held deletes are recorded (those still valid). */
  async confirm (): Promise<number> {
    const held = this.deletes.takeHeld()
    const valid = await this.stillGone(held)
    const done = valid.length === 0 ? [] : await this.c.commit(valid)
    this.c.log('%s: %d held deletes confirmed', this.c.folder, done.length)
    this.c.onEvent({ type: 'deletes.confirmed', detail: { folder: this.c.folder, count: done.length } })
    return done.length
  }
}
