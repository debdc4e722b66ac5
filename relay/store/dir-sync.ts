import { open } from 'node:fs/promises'

interface DirState { running?: Promise<void>, queued?: Promise<void> }

/**
 * fsyncs directories for writers that renamed a file into them, coalescing concurrent requests:
 * a request joins an fsync of the same directory that has not started yet (it will see the
 * caller's rename), else it queues the next one. Many blocks renamed into one directory at once
 * cost one or two directory fsyncs instead of one each.
 */
export class DirSync {
  private readonly dirs = new Map<string, DirState>()

  /** resolves once an fsync of `dir` that started after this call has completed */
  async sync (dir: string): Promise<void> {
    let s = this.dirs.get(dir)
    if (s === undefined) { s = {}; this.dirs.set(dir, s) }
    if (s.queued !== undefined) return await s.queued
    const state = s
    const after = state.running ?? Promise.resolve()
    const p = after.catch(() => {}).then(async () => {
      state.queued = undefined
      state.running = p
      try { await fsyncDir(dir) } finally {
        if (state.running === p) state.running = undefined
        if (state.running === undefined && state.queued === undefined) this.dirs.delete(dir)
      }
    })
    state.queued = p
    return await p
  }
}

async function fsyncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try { await fh.sync() } finally { await fh.close() }
}
