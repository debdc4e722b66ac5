/**
 * Per-path retry delays for failing actions: the first retry after `baseMs`, each further failure
 * doubles it, up to `maxMs`. A path is tried again at once when what it is planned against
 * changes (its records, or a peer connects): `clear`. Without this, a sync pass that other
 * changes trigger several times a second retried a failing action (and logged it) every time.
 */
export class RetryBackoff {
  private readonly baseMs: number
  private readonly maxMs: number
  private timer?: NodeJS.Timeout
  private readonly failing = new Map<string, { failures: number, notBefore: number, waitsForPeers: boolean }>()

  constructor (baseMs: number, maxMs: number) {
    this.baseMs = baseMs
    this.maxMs = maxMs
  }

  /**
   * records a failure of `path`'s action (`waitsForPeers`: no connected peer had what it needs);
   * returns the delay before it is tried again
   */
  failed (path: string, waitsForPeers = false, now = Date.now()): number {
    const failures = (this.failing.get(path)?.failures ?? 0) + 1
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(failures - 1, 30))
    this.failing.set(path, { failures, notBefore: now + delay, waitsForPeers })
    return delay
  }

  /** how many times in a row `path` failed (0: not failing) */
  failures (path: string): number {
    return this.failing.get(path)?.failures ?? 0
  }

  /** true when `path` may be tried now */
  ready (path: string, now = Date.now()): boolean {
    const f = this.failing.get(path)
    return f === undefined || f.notBefore <= now
  }

  /** when the next waiting path may be tried (undefined: none waits) */
  nextDue (now = Date.now()): number | undefined {
    let next: number | undefined
    for (const f of this.failing.values()) if (f.notBefore > now && (next === undefined || f.notBefore < next)) next = f.notBefore
    return next
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
    this.failing.delete(path)
  }

  /** a peer connected: what waited for peers is tried at once */
  clearWaitingForPeers (): void {
    for (const [path, f] of this.failing) if (f.waitsForPeers) this.failing.delete(path)
  }
}
