/** first wait after a failure */
export const DEFAULT_BACKOFF_BASE_MS = 2_000
/** the wait never grows past this */
export const DEFAULT_BACKOFF_CAP_MS = 4 * 60_000

export interface BackoffOptions {
  baseMs?: number
  capMs?: number
  /** 0..1 → a number in [0, 1); Math.random by default (tests pass a fixed one) */
  random?: () => number
  /** false: every wait is exactly base * 2^(n-1), capped (one caller's retries, nothing to spread); default true */
  jitter?: boolean
}

/**
 * Exponential backoff with jitter, per key (a device id): after the n-th failure in a row the
 * next attempt waits base * 2^(n-1), capped, times a random factor in [0.5, 1) ("equal jitter":
 * peers that fail together do not retry together, and the wait never collapses to zero).
 * A success forgets the key.
 */
export class Backoff {
  private readonly baseMs: number
  private readonly capMs: number
  private readonly random: () => number
  private readonly jitter: boolean
  private readonly state = new Map<string, { failures: number, notBefore: number }>()

  constructor (options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS
    this.capMs = options.capMs ?? DEFAULT_BACKOFF_CAP_MS
    this.random = options.random ?? Math.random
    this.jitter = options.jitter ?? true
  }

  /** how long to wait after `failures` failures in a row (0 for none) */
  delayFor (failures: number): number {
    if (failures <= 0) return 0
    const full = Math.min(this.capMs, this.baseMs * 2 ** Math.min(failures - 1, 30))
    return this.jitter ? Math.round(full * (0.5 + this.random() / 2)) : full
  }

  /** true when `key` may be tried now */
  ready (key: string, now = Date.now()): boolean {
    const s = this.state.get(key)
    return s === undefined || now >= s.notBefore
  }

  /** ms until `key` may be tried (0: now) */
  waitFor (key: string, now = Date.now()): number {
    const s = this.state.get(key)
    return s === undefined ? 0 : Math.max(0, s.notBefore - now)
  }

  /** records one more failure of `key`; returns the wait before the next attempt */
  failed (key: string, now = Date.now()): number {
    const failures = (this.state.get(key)?.failures ?? 0) + 1
    const delay = this.delayFor(failures)
    this.state.set(key, { failures, notBefore: now + delay })
    return delay
  }

  /** when the next waiting key may be tried (undefined: none waits) */
  nextDue (now = Date.now()): number | undefined {
    let next: number | undefined
    for (const s of this.state.values()) if (s.notBefore > now && (next === undefined || s.notBefore < next)) next = s.notBefore
    return next
  }

  failures (key: string): number {
    return this.state.get(key)?.failures ?? 0
  }

  succeeded (key: string): void {
    this.state.delete(key)
  }

  /** forget every key (the user changed the config: try everyone again now) */
  reset (): void {
    this.state.clear()
  }
}
