import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { loadConfig, type Config } from '../config/config.ts'
import { deviceIdOf, loadDeviceKey } from '../identity/device-key.ts'
import { FerryError } from '../errors.ts'
import { FolderStore } from './folder-store.ts'
import { folderSublevel } from './keys.ts'

export { folderSublevel } from './keys.ts'

export interface OfflineFolder { id: string, root: string, store: FolderStore }

/**
 * Opens the device's database while no daemon runs (a running daemon holds level's lock: ask
 * it instead), loads every folder's store, runs `fn`, closes. For commands that only read.
 */
export async function withOfflineStores<T> (home: string, fn: (folders: Map<string, OfflineFolder>, config: Config, self: string) => Promise<T>): Promise<T> {
  const config = await loadConfig(home)
  const key = await loadDeviceKey(home)
  const self = deviceIdOf(key)
  const db = new ClassicLevel<string, Uint8Array>(join(home, 'db'), { valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') throw new FerryError(`the database in ${home} is in use by another ferry process`, 'ERR_FERRY_DB_LOCKED', 'try again once it answers, or stop it')
    throw err
  }
  try {
    const folders = new Map<string, OfflineFolder>()
    for (const [id, fc] of Object.entries(config.folders)) {
      const store = new FolderStore({ db: folderSublevel(db, id), folder: id, self, key })
      await store.open()
      folders.set(id, { id, root: fc.path, store })
    }
    return await fn(folders, config, self)
  } finally {
    await db.close()
  }
}
