import type { FolderStore } from '../store/folder-store.ts'
import type { Trash } from '../sync/trash-port.ts'
import { linkToTrash, moveToTrash } from './trash.ts'
import { TrashIndex } from './trash-index.ts'

/** One folder's trash (trash.ts) as sync uses it: files kept, files moved in, its blocks indexed. */
export class FolderTrash implements Trash {
  private readonly root: string
  /** blocks of trash files, copied and served like our files' blocks */
  private readonly index: TrashIndex

  constructor (components: { root: string, store: FolderStore }) {
    this.root = components.root
    this.index = new TrashIndex(components.root, components.store)
  }

  async keep (path: string, seq: number): Promise<boolean> {
    return await linkToTrash(this.root, path, seq)
  }

  async take (path: string, seq: number): Promise<boolean> {
    return await moveToTrash(this.root, path, seq)
  }

  async changed (): Promise<void> {
    await this.index.refresh()
  }
}
