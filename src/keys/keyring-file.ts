import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FerryError } from '../errors.ts'
import { writeFileAtomic } from '../config/atomic-write.ts'
import { FOLDER_ID_PATTERN } from '../config/check-config.ts'
import { checkKey, mergeKeyrings, newFolderKey, type FolderKey, type FolderKeyring } from './folder-keyring.ts'

/** where keyrings live under a device's home (one file per folder, 0600, in a 0700 directory) */
export const KEYRING_DIR = 'folder-keys'

interface KeyringFile { version: 1, folderId: string, keys: Array<{ id: string, key: string, epoch: number, createdAtMs: number }> }

/**
 * The folder keyrings of one device home. Keys never leave a device except to members (never to
 * a relay). A keyring file that cannot be read is an error, never replaced: a lost key is data
 * on the relay that nobody can open.
 */
export class KeyringFiles {
  private readonly dir: string

  constructor (home: string) {
    this.dir = join(home, KEYRING_DIR)
  }

  private pathOf (folderId: string): string {
    if (!FOLDER_ID_PATTERN.test(folderId)) throw new FerryError(`invalid folder id ${JSON.stringify(folderId)}`, 'ERR_FERRY_BAD_FOLDER_ID')
    return join(this.dir, `${folderId}.json`)
  }

  /** the folder's keyring, or undefined when this device has none */
  async load (folderId: string): Promise<FolderKeyring | undefined> {
    let text: string
    try {
      text = await readFile(this.pathOf(folderId), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    return parseKeyring(text, folderId, this.pathOf(folderId))
  }

  /** the folder's keyring, made with one fresh key when it has none (on `folder add`) */
  async ensure (folderId: string): Promise<FolderKeyring> {
    const ring = await this.load(folderId)
    if (ring !== undefined && ring.keys.length > 0) return ring
    const made: FolderKeyring = { folderId, keys: [newFolderKey()] }
    await this.save(made)
    return made
  }

  /** merges `keys` into the folder's keyring and saves it when it grew; returns the result */
  async add (folderId: string, keys: readonly FolderKey[]): Promise<FolderKeyring> {
    const ring = (await this.load(folderId)) ?? { folderId, keys: [] }
    const merged = mergeKeyrings(ring, keys)
    if (merged.keys.length !== ring.keys.length) await this.save(merged)
    return merged
  }

  async save (ring: FolderKeyring): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const file: KeyringFile = {
      version: 1,
      folderId: ring.folderId,
      keys: ring.keys.map(k => ({ id: k.id, key: Buffer.from(k.key).toString('base64'), epoch: k.epoch, createdAtMs: k.createdAtMs }))
    }
    await writeFileAtomic(this.pathOf(ring.folderId), JSON.stringify(file, null, 2) + '\n', 0o600)
  }
}

function parseKeyring (text: string, folderId: string, path: string): FolderKeyring {
  const bad = (why: string): FerryError => new FerryError(`${path}: ${why}`, 'ERR_FERRY_BAD_KEYRING', 'restore the file from a backup, or recover the folder with its recovery phrase')
  let file: KeyringFile
  try {
    file = JSON.parse(text) as KeyringFile
  } catch {
    throw bad('not JSON')
  }
  if (typeof file !== 'object' || file === null || file.version !== 1 || file.folderId !== folderId || !Array.isArray(file.keys)) throw bad('not a keyring of this folder')
  const keys = file.keys.map(k => {
    if (typeof k !== 'object' || k === null || typeof k.key !== 'string') throw bad('a key is malformed')
    const key: FolderKey = { id: k.id, key: new Uint8Array(Buffer.from(k.key, 'base64')), epoch: k.epoch, createdAtMs: k.createdAtMs }
    try { checkKey(key, folderId) } catch { throw bad('a key is malformed') }
    return key
  })
  return { folderId, keys }
}
