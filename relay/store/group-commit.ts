/**
 * One flush for many writers (a group commit): `join` resolves once a flush that started after
 * the call has completed, and rejects if that flush failed. A writer that joins while a flush is
 * queued but not started shares it (the flush will see what the writer did before joining);
 * one that joins while a flush runs queues the next. Many writers at once cost one or two
 * flushes instead of one each.
 */
export class GroupCommit {
  private readonly flush: () => Promise<void>
  private running?: Promise<void>
  private queued?: Promise<void>

  constructor (flush: () => Promise<void>) {
    this.flush = flush
  }

  /** no flush running or queued */
  get idle (): boolean {
    return this.running === undefined && this.queued === undefined
  }

  async join (): Promise<void> {
    if (this.queued !== undefined) return await this.queued
    const after = this.running ?? Promise.resolve()
    const p: Promise<void> = after.catch(() => {}).then(async () => {
      this.queued = undefined
      this.running = p
      try { await this.flush() } finally {
        if (this.running === p) this.running = undefined
      }
    })
    this.queued = p
    return await p
  }
}
