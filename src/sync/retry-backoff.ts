import { Backoff } from '../node/backoff.ts'

/**
 * Per-path retry delays for failing actions: the first retry after `baseMs`, each further failure
 * doubles it, up to `maxMs` (a Backoff without jitter: one folder's retries, nothing to spread).
 * A path is tried again at once when what it is planned against changes (its records, or a peer
 * connects): `clear`. Without this, a sync pass that other changes trigger several times a second
 * retried a failing action (and logged it) every time.
 */
export class RetryBackoff {
  private readonly backoff: Backoff
  /** failing paths whose last failure was "no connected peer had the blocks" */
  private readonly waitingForPeers = new Set<string>()
  private timer?: NodeJS.Timeout

  constructor (baseMs: number, maxMs: number) {
    this.backoff = new Backoff({ baseMs, capMs: maxMs, jitter: false })
  }

  /**
   * records a failure of `path`'s action (`waitsForPeers`: no connected peer had what it needs);
   * returns the delay before it is tried again
   */
  failed (path: string, waitsForPeers = false, now = Date.now()): number {
    if (waitsForPeers) this.waitingForPeers.add(path)
    else this.waitingForPeers.delete(path)
    return this.backoff.failed(path, now)
  }

  /** how many times in a row `path` failed (0: not failing) */
  failures (path: string): number {
    return this.backoff.failures(path)
  }

  /** true when `path` may be tried now */
  ready (path: string, now = Date.now()): boolean {
    return this.backoff.ready(path, now)
  }

  /** when the next waiting path may be tried (undefined: none waits) */
  nextDue (now = Date.now()): number | undefined {
    return this.backoff.nextDue(now)
  }

  /** calls `wake` once the next waiting path may be tried (one timer; replaces an earlier one) */
  wakeWhenDue (wake: () => void, now = Date.now()): void {
    const due = this.nextDue(now)
    if (due === undefined) return
    clearTimeout(this.timer)
    this.timer = setTimeout(wake, due - now)
  }

  stop (): void {
    clearTimeout(this.timer)
  }

  /** `path` succeeded, or its inputs changed: try it at once next time */
  clear (path: string): void {
    this.backoff.succeeded(path)
    this.waitingForPeers.delete(path)
  }

  /** a peer connected: what waited for peers is tried at once */
  clearWaitingForPeers (): void {
    for (const path of this.waitingForPeers) this.backoff.succeeded(path)
    this.waitingForPeers.clear()
  }
}
