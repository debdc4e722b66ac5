import { open } from 'node:fs/promises'
import { GroupCommit } from './group-commit.ts'

/**
 * fsyncs directories for writers that renamed a file into them, coalescing concurrent requests
 * per directory (a group commit, group-commit.ts): many blocks renamed into one directory at
 * once cost one or two directory fsyncs instead of one each.
 */
export class DirSync {
  private readonly dirs = new Map<string, GroupCommit>()

  /** resolves once an fsync of `dir` that started after this call has completed */
  async sync (dir: string): Promise<void> {
    let commit = this.dirs.get(dir)
    if (commit === undefined) {
      commit = new GroupCommit(async () => { await fsyncDir(dir) })
      this.dirs.set(dir, commit)
    }
    try {
      await commit.join()
    } finally {
      if (commit.idle && this.dirs.get(dir) === commit) this.dirs.delete(dir)
    }
  }
}

export async function fsyncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try { await fh.sync() } finally { await fh.close() }
}
