/** One file a peer is fetching from us, as `ferry status` shows it. */
export interface UploadStatus {
  peer: string
  folder: string
  /** the file the blocks were read from (a block shared by several files counts for the first) */
  path: string
  /** block bytes served for this file since the first one */
  bytes: number
  /** bytes per second since the first block */
  bytesPerSecond: number
  startedAt: number
  lastAt: number
}

/** an upload with no block served for this long is over (no longer listed) */
export const DEFAULT_UPLOAD_IDLE_MS = 10_000
/** at most this many uploads are kept (the most recently active win) */
export const DEFAULT_MAX_UPLOADS = 200
/** a rate is taken over at least this long, so the first block does not read as a burst */
const MIN_RATE_WINDOW_MS = 1_000

/**
 * Blocks served per (peer, folder, file): what the blocks server read for whom. Cheap per block;
 * entries idle for `idleMs` are dropped when listed or when a new one is added.
 */
export class UploadTracker {
  private readonly entries = new Map<string, UploadStatus>()
  private readonly idleMs: number
  private readonly maxEntries: number

  constructor (opts: { idleMs?: number, maxEntries?: number } = {}) {
    this.idleMs = opts.idleMs ?? DEFAULT_UPLOAD_IDLE_MS
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_UPLOADS
  }

  served (u: { peer: string, folder: string, path: string, bytes: number }, nowMs = Date.now()): void {
    const key = JSON.stringify([u.peer, u.folder, u.path])
    const e = this.entries.get(key)
    if (e !== undefined) {
      e.bytes += u.bytes
      e.lastAt = nowMs
      // most recently active last
      this.entries.delete(key)
      this.entries.set(key, e)
      return
    }
    this.prune(nowMs)
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { ...u, bytesPerSecond: 0, startedAt: nowMs, lastAt: nowMs })
  }

  /** uploads active within the idle time, with their rates */
  list (nowMs = Date.now()): UploadStatus[] {
    this.prune(nowMs)
    return [...this.entries.values()].map(e => ({ ...e, bytesPerSecond: Math.round(e.bytes / (Math.max(nowMs - e.startedAt, MIN_RATE_WINDOW_MS) / 1000)) }))
  }

  private prune (nowMs: number): void {
    for (const [key, e] of this.entries) if (nowMs - e.lastAt > this.idleMs) this.entries.delete(key)
  }
}
