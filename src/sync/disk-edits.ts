import { chmod, unlink } from 'node:fs/promises'
import { dirModeOf } from '../model/file-mode.ts'
import type { ApplierComponents } from './applier-components.ts'
import { safeJoin, safeMkdirp } from '../disk/safe-path.ts'

// Small disk edits the applier's actions share.

/** Creates `path` as a directory with the bits of `mode` (dirModeOf), unless one is there. */
export async function createDir (c: Pick<ApplierComponents, 'root'>, path: string, mode: number): Promise<void> {
  if (await safeMkdirp(c.root, path, dirModeOf(mode))) await chmod(safeJoin(c.root, path), dirModeOf(mode)) // (the umask may have taken bits)
}

/** Removes the file at `path` (ours, as our record says: checked by the caller) into the trash. */
export async function removeToTrash (c: Pick<ApplierComponents, 'root' | 'store' | 'trash'>, path: string): Promise<void> {
  if (!(await c.trash.take(path, c.store.own(path)!.seq))) await unlink(safeJoin(c.root, path, { leaf: 'any' }))
}

