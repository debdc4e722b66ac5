/** A coalescing trigger: many requests while running mean one more run. */
export class Trigger {
  private requested = false
  private wake?: () => void
  request (): void { this.requested = true; this.wake?.() }
  async next (signal: AbortSignal): Promise<void> {
    while (!this.requested) {
      signal.throwIfAborted()
      await new Promise<void>(resolve => {
        const done = (): void => {
          signal.removeEventListener('abort', done)
          this.wake = undefined
          resolve()
        }
        this.wake = done
        signal.addEventListener('abort', done)
      })
    }
    signal.throwIfAborted()
    this.requested = false
  }
  get pending (): boolean { return this.requested }
}

/** Runs `body` each time `trigger` fires, until `signal` aborts; a failing run is reported and the loop goes on. */
export async function runTriggered ({ trigger, body, signal, onError }: { trigger: Trigger, body: () => Promise<void>, signal: AbortSignal, onError: (err: unknown) => void }): Promise<void> {
  while (!signal.aborted) {
    try {
      await trigger.next(signal)
      await body()
    } catch (err) {
      if (signal.aborted) return
      onError(err)
    }
  }
}

/** Requests triggers again a while later: one timer per trigger until it fires. */
export class DelayedRequests {
  private readonly delayMs: number
  private readonly timers = new Map<Trigger, NodeJS.Timeout>()

  constructor (delayMs: number) {
    this.delayMs = delayMs
  }

  request (trigger: Trigger): void {
    if (this.timers.has(trigger)) return
    this.timers.set(trigger, setTimeout(() => {
      this.timers.delete(trigger)
      trigger.request()
    }, this.delayMs))
  }

  stop (): void {
    for (const t of this.timers.values()) clearTimeout(t)
  }
}
