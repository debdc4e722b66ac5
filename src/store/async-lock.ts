/** A FIFO mutex: `run(fn)` waits for every earlier holder, then runs fn alone. */
export class AsyncLock {
  private tail: Promise<unknown> = Promise.resolve()

  async run<T> (fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn)
    this.tail = result.catch(() => {})
    return result
  }
}
