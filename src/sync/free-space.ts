import { rm, statfs } from 'node:fs/promises'
import { FerryError } from '../errors.ts'

/**
 * Downloads are checked against the free space of the folder's file system before they start,
 * and a write that runs out of space anyway gives its temp file back: one file that does not fit
 * must not starve the others.
 */

export const NO_SPACE = 'ERR_FERRY_NO_SPACE'
/** what stays free beyond a download: 1% of the file system, at most this */
export const MAX_SAFETY_MARGIN_BYTES = 64 * 1024 * 1024
/** a statfs answer is reused this long (thousands of small files each ask) */
const STATFS_MAX_AGE_MS = 250

export function safetyMargin (totalBytes: number): number {
  return Math.min(MAX_SAFETY_MARGIN_BYTES, Math.floor(totalBytes / 100))
}

export class NoSpaceError extends FerryError {
  constructor (path: string, detail: string) {
    super(`not enough free space for ${path}: ${detail}`, NO_SPACE, 'free some space on that disk; the download is retried by itself')
  }
}

/** the write failed because the file system (or the user's quota) is full */
export function isNoSpace (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}

export interface Reservation {
  /** bytes of it now written: they show in the file system's free space from the next look on */
  wrote: (bytes: number) => void
  release: () => void
}

interface Disk { free: number, total: number, at: number }

/**
 * The bytes downloads in progress still need, against the free space of one folder's file
 * system (other folders on the same disk keep their own account).
 */
export class FreeSpace {
  private readonly root: string
  private readonly statfs: typeof statfs
  private disk?: Disk
  private looking?: Promise<Disk>
  /** written since the last statfs: not in its free space yet */
  private writtenSinceLook = 0
  private readonly active = new Set<{ remaining: number }>()

  constructor (root: string, options: { statfs?: typeof statfs } = {}) {
    this.root = root
    this.statfs = options.statfs ?? statfs
  }

  private async look (): Promise<Disk> {
    if (this.disk !== undefined && Date.now() - this.disk.at < STATFS_MAX_AGE_MS) return this.disk
    this.looking ??= (async () => {
      try {
        const written = this.writtenSinceLook
        const s = await this.statfs(this.root, { bigint: false })
        this.writtenSinceLook -= written
        this.disk = { free: s.bavail * s.bsize, total: s.blocks * s.bsize, at: Date.now() }
        return this.disk
      } finally {
        this.looking = undefined
      }
    })()
    return await this.looking
  }

  /**
   * Reserves `bytes` for the download of `path`, or throws NoSpaceError when they, the other
   * downloads' remaining bytes and the safety margin do not fit in the free space.
   */
  async reserve (path: string, bytes: number): Promise<Reservation> {
    const disk = await this.look()
    let pending = this.writtenSinceLook
    for (const r of this.active) pending += r.remaining
    const margin = safetyMargin(disk.total)
    const free = disk.free - pending
    if (bytes > 0 && bytes + margin > free) {
      throw new NoSpaceError(path, `needs ${mib(bytes)} (plus ${mib(margin)} kept free), ${mib(Math.max(0, free))} available`)
    }
    const entry = { remaining: Math.max(0, bytes) }
    this.active.add(entry)
    return {
      wrote: n => {
        const d = Math.min(n, entry.remaining)
        entry.remaining -= d
        this.writtenSinceLook += d
      },
      release: () => { this.active.delete(entry) }
    }
  }

  /**
   * Runs a download of `path` into `tmp` needing `bytes` more on disk: not started when they do
   * not fit; when the disk fills up anyway, the temp file is removed and NoSpaceError thrown.
   */
  async download<T> (path: string, tmp: string, bytes: number, job: (r: Reservation) => Promise<T>): Promise<T> {
    const r = await this.reserve(path, bytes)
    try {
      return await job(r)
    } catch (err) {
      if (!isNoSpace(err)) throw err
      await rm(tmp, { force: true })
      throw new NoSpaceError(path, `the disk filled up while it was written (${(err as Error).message}); its temp file was removed`)
    } finally {
      r.release()
    }
  }
}

function mib (bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}
