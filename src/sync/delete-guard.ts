import type { LocalChange } from '../store/local-index.ts'

/**
 * Mass-delete protection (DESIGN.md, Folder health and mass-delete protection): the scanner's
 * tombstones wait here a moment before they are committed; a burst of deletes over a threshold
 * is held until the user confirms it (`ferry folder confirm-deletes`) or reverts it.
 */

export interface DeleteProtection {
  enabled: boolean
  /** hold when a burst deletes more than this share of the folder's files ... */
  ratio: number
  /** ... and more than this many files */
  minFiles: number
  /** or a whole top-level directory of more than this many files */
  dirFiles: number
}

export const DEFAULT_DELETE_PROTECTION: DeleteProtection = { enabled: true, ratio: 0.5, minFiles: 10, dirFiles: 100 }

export function deleteProtectionOf (cfg: Partial<DeleteProtection> | undefined): DeleteProtection {
  return { ...DEFAULT_DELETE_PROTECTION, ...Object.fromEntries(Object.entries(cfg ?? {}).filter(([, v]) => v !== undefined)) }
}

/**
 * A delete is committed only after the root and its marker were seen again this long after it
 * was observed: `rm -rf` of the root removes the files one by one and the watcher reports them
 * before the root itself is gone, and a burst is judged as a whole.
 */
export const DELETE_SETTLE_MS = 2_000
/** a burst that goes on is judged at the latest this long after its first delete */
export const DELETE_SETTLE_MAX_MS = 10_000
/** deletes committed this recently still count toward a new burst */
export const DELETE_WINDOW_MS = 30_000

export interface Burst {
  /** files (not directories) this burst deletes */
  files: readonly string[]
  /** directories this burst deletes */
  dirs: readonly string[]
  /** live files in the folder before the burst */
  folderFiles: number
}

/** Why `burst` must be held, or undefined when it may be committed. Pure. */
export function holdReason (burst: Burst, p: DeleteProtection): string | undefined {
  if (!p.enabled) return undefined
  const n = burst.files.length
  if (n > p.minFiles && n > p.ratio * burst.folderFiles) {
    return `${n} of ${burst.folderFiles} files deleted at once`
  }
  for (const dir of burst.dirs) {
    if (dir.includes('/')) continue
    const below = burst.files.filter(f => f.startsWith(dir + '/')).length
    if (below > p.dirFiles) return `top-level directory ${dir} with ${below} files deleted`
  }
  return undefined
}

/** The deletes of one folder: waiting (pending), held, and recently committed (for bursts). */
export class DeleteGuard {
  /** tombstones waiting for the settle time, by path */
  readonly pending = new Map<string, LocalChange>()
  /** tombstones held by protection, by path */
  readonly held = new Map<string, LocalChange>()
  heldSince?: number
  heldReason?: string
  private firstPendingAt?: number
  private lastPendingAt?: number
  /** committed deletes of the last DELETE_WINDOW_MS: [time, path, was a file] */
  private recent: Array<{ at: number, path: string, file: boolean }> = []

  add (changes: readonly LocalChange[], now = Date.now()): void {
    if (changes.length === 0) return
    for (const c of changes) this.pending.set(c.path, c)
    this.firstPendingAt ??= now
    this.lastPendingAt = now
  }

  /** ms until the pending deletes are due (0: now), undefined when none wait */
  dueIn (now = Date.now()): number | undefined {
    if (this.pending.size === 0 || this.firstPendingAt === undefined || this.lastPendingAt === undefined) return undefined
    const due = Math.min(this.lastPendingAt + DELETE_SETTLE_MS, this.firstPendingAt + DELETE_SETTLE_MAX_MS)
    return Math.max(0, due - now)
  }

  /** Takes the pending deletes out (to be checked, then committed or held). */
  takePending (): LocalChange[] {
    const out = [...this.pending.values()]
    this.pending.clear()
    this.firstPendingAt = undefined
    this.lastPendingAt = undefined
    return out
  }

  dropPending (): void { this.takePending() }

  /**
   * Decides on `changes` (checked, still valid): the ones to commit now, or none when they are
   * held (a hold that is active takes every new delete too). `liveFiles`: our live file
   * records now (the pending deletes are still live in the store).
   */
  decide (changes: readonly LocalChange[], liveFiles: number, p: DeleteProtection, now = Date.now()): { commit: LocalChange[], held: boolean } {
    this.recent = this.recent.filter(r => now - r.at < DELETE_WINDOW_MS)
    if (changes.length === 0) return { commit: [], held: false }
    if (this.held.size > 0 && p.enabled) {
      for (const c of changes) this.held.set(c.path, c)
      return { commit: [], held: true }
    }
    const recentFiles = this.recent.filter(r => r.file).map(r => r.path)
    const files = [...recentFiles, ...changes.filter(c => c.type === 'file').map(c => c.path)]
    const dirs = [...this.recent.filter(r => !r.file).map(r => r.path), ...changes.filter(c => c.type === 'dir').map(c => c.path)]
    const reason = holdReason({ files, dirs, folderFiles: liveFiles + recentFiles.length }, p)
    if (reason === undefined) return { commit: [...changes], held: false }
    for (const c of changes) this.held.set(c.path, c)
    this.heldSince = now
    this.heldReason = reason
    return { commit: [], held: true }
  }

  /** deletes that were committed (they count toward the next burst for a while) */
  committed (changes: readonly LocalChange[], now = Date.now()): void {
    for (const c of changes) this.recent.push({ at: now, path: c.path, file: c.type === 'file' })
  }

  /** Ends a hold: its deletes, to be committed (confirm) or undone (revert). */
  takeHeld (): LocalChange[] {
    const out = [...this.held.values()]
    this.held.clear()
    this.heldSince = undefined
    this.heldReason = undefined
    return out
  }
}
