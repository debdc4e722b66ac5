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
