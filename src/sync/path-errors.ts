/**
 * Per-path problems of one folder: a file that cannot be read, a name that cannot be synced, a
 * download that does not fit on the disk, an action that keeps failing. Each is kept until the
 * path next scans or applies fine (or is gone); the rest of the folder syncs on regardless.
 */

export interface PathError {
  /** folder-relative; a name that is not valid UTF-8 shows its bad bytes as `\xNN` */
  path: string
  /** ERR_FERRY_UNREADABLE, ERR_FERRY_UNSYNCABLE_NAME, ERR_FERRY_NO_SPACE, ... */
  code: string
  /** one line for a person */
  reason: string
  /** ms since the epoch: when this problem was first seen (kept while it lasts) */
  since: number
}

/** where a problem was found, which decides what clears it */
export type PathErrorSource = 'scan' | 'apply'

/** paths listed with their reason (in status, events and the log); the rest are only counted */
export const MAX_LISTED_PATH_ERRORS = 1000
interface Entry extends PathError {
  source: PathErrorSource
}

export interface PathErrorsOptions {
  onError?: (e: PathError) => void
  onCleared?: (path: string) => void
  maxListed?: number
  now?: () => number
}

export class PathErrors {
  private readonly listed = new Map<string, Entry>()
  /** beyond the listed ones: kept without their reason, no event each (bounded by the folder) */
  private readonly unlisted = new Map<string, Omit<Entry, 'reason' | 'code'>>()
  private readonly opts: PathErrorsOptions
  private readonly maxListed: number
  private readonly now: () => number

  constructor (opts: PathErrorsOptions = {}) {
    this.opts = opts
    this.maxListed = opts.maxListed ?? MAX_LISTED_PATH_ERRORS
    this.now = opts.now ?? Date.now
  }

  /** all paths with a problem, listed or not */
  get count (): number { return this.listed.size + this.unlisted.size }

  /** the listed problems, oldest first */
  list (): PathError[] {
    return [...this.listed.values()].map(({ path, code, reason, since }) => ({ path, code, reason, since }))
  }

  get (path: string): PathError | undefined {
    const e = this.listed.get(path)
    return e === undefined ? undefined : { path: e.path, code: e.code, reason: e.reason, since: e.since }
  }

  has (path: string): boolean { return this.listed.has(path) || this.unlisted.has(path) }

  /** Records a problem (again); a new one, or a different one, is announced. */
  report (path: string, source: PathErrorSource, code: string, reason: string): void {
    const now = this.now()
    const old = this.listed.get(path)
    if (old !== undefined) {
      const changed = old.code !== code || old.reason !== reason
      old.source = source
      if (old.code !== code) old.since = now
      old.code = code
      old.reason = reason
      if (changed) this.opts.onError?.(this.get(path)!)
      return
    }
    const hidden = this.unlisted.get(path)
    if (this.listed.size >= this.maxListed) {
      if (hidden !== undefined) hidden.source = source
      else this.unlisted.set(path, { path, source, since: now })
      return
    }
    // room in the list (again): this one gets its reason shown
    this.unlisted.delete(path)
    this.listed.set(path, { path, code, reason, source, since: hidden?.since ?? now })
    this.opts.onError?.(this.get(path)!)
  }

  /** The path is fine now (or gone): its problem, whatever found it, is over. */
  clear (path: string): void {
    if (this.unlisted.delete(path)) return
    if (this.listed.delete(path)) this.opts.onCleared?.(path)
  }

  private clearIf (path: string, source: PathErrorSource): void {
    const e = this.listed.get(path) ?? this.unlisted.get(path)
    if (e !== undefined && e.source === source) this.clear(path)
  }

  /**
   * What a scan found. `looked`: the paths a partial scan looked at (undefined: a full scan,
   * which looked at everything): their scan problems not found again are over.
   */
  scanned (problems: ReadonlyArray<Omit<PathError, 'since'>>, looked?: Iterable<string>): void {
    const found = new Set(problems.map(p => p.path))
    if (looked === undefined) {
      for (const map of [this.listed, this.unlisted]) {
        for (const [path, e] of [...map]) if (e.source === 'scan' && !found.has(path)) this.clear(path)
      }
    } else {
      for (const path of looked) if (!found.has(path)) this.clearIf(path, 'scan')
    }
    for (const p of problems) this.report(p.path, 'scan', p.code, p.reason)
  }

  /** An action on `path` failed (when it is tried again is retry-backoff.ts's business). */
  applyFailed (path: string, code: string, reason: string): void {
    this.report(path, 'apply', code, reason)
  }

  /** An action on `path` worked: a failed action's problem is over (a scan problem is the scanner's to clear: it looks at what was installed). */
  applied (path: string): void { this.clearIf(path, 'apply') }

  /** Nothing is planned for `path` any more: a failed action's problem is over. */
  notPlanned (path: string): void { this.clearIf(path, 'apply') }
}

/** a ferry error's code; anything else is a failed action */
export function ferryCode (err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && code.startsWith('ERR_FERRY_') ? code : 'ERR_FERRY_APPLY_FAILED'
}

/** `path` on one line: control characters (a newline...) shown escaped, as JSON would */
export function printablePath (path: string): string {
  // eslint-disable-next-line no-control-regex
  return path.replace(/[\u0000-\u001f\u007f]/g, ch => JSON.stringify(ch).slice(1, -1))
}
