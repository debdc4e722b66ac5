import { lstatSync } from 'node:fs'
import { rm, rmdir } from 'node:fs/promises'
import type { FileRecord } from '../model/file-record.ts'
import type { LocalMeta } from '../store/local-meta.ts'
import { adoptChange, DirNotEmptyError, LocalChangeError, StalePlanError, type ApplierComponents, type Installer } from './applier-components.ts'
import { diskMatchesOwnStat } from './disk-state.ts'
import { safeJoin, UnsafePathError } from '../disk/safe-path.ts'
import { renameIntoPlace } from './file-assembler.ts'

export type InstallQueueComponents = Pick<ApplierComponents, 'root' | 'store' | 'diskLock' | 'trash'>

interface PendingInstall {
  record: FileRecord
  tmp: string
  base: number
  /** the temp file's stat, for the scan cache (a rename does not change it) */
  meta: LocalMeta
  done: PromiseWithResolvers<void>
}

/**
 * Moves finished temp files into place in groups: one disk-lock hold and one database batch for
 * everything that is ready, instead of one each per file (many small files would otherwise
 * queue behind the lock). Each file is still checked, renamed and recorded atomically with
 * respect to the scanner.
 */
export class InstallQueue implements Installer {
  private readonly c: InstallQueueComponents
  private queue: PendingInstall[] = []
  private running = false

  constructor (components: InstallQueueComponents) {
    this.c = components
  }

  async install (item: Omit<PendingInstall, 'done'>): Promise<void> {
    const done = Promise.withResolvers<void>()
    this.queue.push({ ...item, done })
    if (!this.running) void this.drain()
    await done.promise
  }

  private async drain (): Promise<void> {
    this.running = true
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_INSTALL_BATCH)
        try {
          await this.c.diskLock.run(async () => { await this.commit(batch) })
        } catch (err) {
          for (const item of batch) item.done.reject(err)
        }
      }
    } finally {
      this.running = false
    }
  }

  private async commit (batch: PendingInstall[]): Promise<void> {
    const c = this.c
    // each file is checked and renamed on its own (different paths), all of the batch at once
    const outcome = await Promise.all(batch.map(async item => {
      const { record, tmp } = item
      try {
        if ((c.store.own(record.path)?.seq ?? 0) !== item.base) throw new StalePlanError(record.path)
        // every parent a real directory under the root (safe-path.ts), nothing written through a link
        const abs = safeJoin(c.root, record.path, { leaf: 'any' })
        // blocking lstat and rename: metadata calls of a few microseconds, where a thread-pool
        // round trip each cost more (a batch holds up the event loop a few milliseconds)
        const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false })
        if (st !== undefined && !st.isFile() && !st.isDirectory()) throw new UnsafePathError(record.path, st.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file or directory')
        if (!diskMatchesOwnStat(c, record.path, st)) throw new LocalChangeError(record.path)
        if (st?.isDirectory() === true) {
          // a directory replaced by a file: only if empty. Something unrecorded inside (new, or
          // ignored): the scanner looks, the planner decides again (a type conflict if it is live)
          try { await rmdir(abs) } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') throw new DirNotEmptyError(record.path)
            throw err
          }
        } else if (st !== undefined) {
          await c.trash.keep(record.path, c.store.own(record.path)!.seq) // the old version stays in the trash
        }
        await renameIntoPlace(c.root, tmp, { path: record.path, abs })
        return true
      } catch (err) {
        await rm(tmp, { force: true })
        item.done.reject(err)
        return false
      }
    }))
    const placed = batch.filter((_, i) => outcome[i])
    const changes = placed.map(item => adoptChange(item.record, item.meta))
    try {
      await c.store.commitLocal(changes)
      for (const item of placed) item.done.resolve()
    } catch (err) {
      for (const item of placed) item.done.reject(err)
    }
  }
}

const MAX_INSTALL_BATCH = 256
