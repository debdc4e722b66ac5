/** Time for a token bucket: real by default; tests pass a manual one. */
export interface BucketClock {
  /** milliseconds, monotonic */
  now: () => number
  /** runs `fn` after `ms`; returns a cancel function */
  after: (ms: number, fn: () => void) => () => void
}

export const realClock: BucketClock = {
  now: () => performance.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms)
    return () => clearTimeout(t)
  }
}

/** a bucket holds at least one second of its rate */
export const DEFAULT_BURST_MS = 1_000

export interface TokenBucketOptions {
  /** undefined: unlimited (every take passes at once) */
  bytesPerSecond?: number
  /** the bucket holds at least this much (one block), whatever the rate */
  minBurstBytes: number
  clock?: BucketClock
}

interface Waiter { bytes: number, resolve: () => void, reject: (err: unknown) => void, signal?: AbortSignal, onAbort?: () => void }

/**
 * A token bucket over bytes: it fills at `bytesPerSecond` up to its burst (one second of the
 * rate or `minBurstBytes`, whichever is larger), and `take(n)` waits until n bytes of tokens
 * are there. Takers are served first come, first served, so a big block is not starved by
 * small ones. A take larger than the burst passes when the bucket is full and leaves it in
 * debt. The rate can change at any time (`setRate`); waiters are re-timed at once.
 */
export class TokenBucket {
  private rate: number | undefined
  private readonly minBurstBytes: number
  private readonly clock: BucketClock
  private tokens: number
  private last: number
  private readonly queue: Waiter[] = []
  private cancelTimer?: () => void

  constructor (o: TokenBucketOptions) {
    this.rate = o.bytesPerSecond
    this.minBurstBytes = o.minBurstBytes
    this.clock = o.clock ?? realClock
    this.last = this.clock.now()
    this.tokens = this.burst()
  }

  get bytesPerSecond (): number | undefined { return this.rate }

  /** the most the bucket holds */
  burst (): number {
    return this.rate === undefined ? Infinity : Math.max(this.rate * DEFAULT_BURST_MS / 1000, this.minBurstBytes)
  }

  setRate (bytesPerSecond: number | undefined): void {
    if (bytesPerSecond === this.rate) return
    this.refill()
    this.rate = bytesPerSecond
    this.tokens = Math.min(this.tokens, this.burst())
    if (this.rate === undefined) this.tokens = Infinity
    else if (!Number.isFinite(this.tokens)) this.tokens = this.burst()
    this.pump()
  }

  /** Resolves once `bytes` may pass (they are taken then); rejects if `signal` aborts first. */
  async take (bytes: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (this.queue.length === 0 && this.tryTake(bytes)) return
    await new Promise<void>((resolve, reject) => {
      const w: Waiter = { bytes, resolve, reject }
      if (signal !== undefined) {
        w.signal = signal
        w.onAbort = () => {
          const i = this.queue.indexOf(w)
          if (i >= 0) this.queue.splice(i, 1)
          reject(signal.reason)
          this.pump()
        }
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      this.queue.push(w)
      this.pump()
    })
  }

  private refill (): void {
    const now = this.clock.now()
    if (this.rate !== undefined) this.tokens = Math.min(this.burst(), this.tokens + (now - this.last) * this.rate / 1000)
    this.last = now
  }

  private tryTake (bytes: number): boolean {
    this.refill()
    // more than the bucket holds: passes when it is full
    if (this.tokens < Math.min(bytes, this.burst())) return false
    this.tokens -= bytes
    return true
  }

  private pump (): void {
    this.cancelTimer?.()
    this.cancelTimer = undefined
    while (this.queue.length > 0 && this.tryTake(this.queue[0]!.bytes)) {
      const w = this.queue.shift()!
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort)
      w.resolve()
    }
    const head = this.queue[0]
    if (head === undefined || this.rate === undefined) return
    const missing = Math.min(head.bytes, this.burst()) - this.tokens
    this.cancelTimer = this.clock.after(Math.max(1, Math.ceil(missing * 1000 / this.rate)), () => { this.cancelTimer = undefined; this.pump() })
  }
}
