/**
 * An idle timeout for a whole stream: `during()` waits for the peer with a signal that aborts
 * when the wait lasts `ms`. Time spent not waiting for the peer (writing what it sent to disk)
 * does not count. One timer per stream, restarted per wait: a fresh `AbortSignal.timeout()` per
 * message kept every one of those timers (and the signal combining it with the caller's) alive
 * for the full timeout: at ~600 blocks/s and 30 s, ~18,000 live timers and tens of MiB of heap
 * on the receiver of a 4 GiB file.
 */
export class IdleTimeout {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout
  private waiting = false

  constructor (ms: number, parent?: AbortSignal) {
    this.timer = setTimeout(() => {
      if (this.waiting) this.controller.abort(new DOMException(`no answer for ${ms} ms`, 'TimeoutError'))
    }, ms)
    this.signal = parent === undefined ? this.controller.signal : AbortSignal.any([parent, this.controller.signal])
  }

  /** runs one wait for the peer under the timeout */
  async during<T> (wait: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.waiting = true
    // restarts the countdown (and re-arms a timer that already fired while nobody waited)
    this.timer.refresh()
    try {
      return await wait(this.signal)
    } finally {
      this.waiting = false
    }
  }

  /** the stream is done: the timer is dropped */
  clear (): void {
    clearTimeout(this.timer)
  }
}
