import { createHash, randomBytes } from 'node:crypto'
import { FerryError } from '../errors.ts'

/** bytes of a folder key (256 bits) */
export const FOLDER_KEY_BYTES = 32

/**
 * One key of a folder. `id` names it without revealing it (a hash of the key), `epoch` orders
 * keys: a rekey makes a key of a higher epoch, and new data is sealed with the current key.
 */
export interface FolderKey {
  readonly id: string
  readonly key: Uint8Array
  readonly epoch: number
  readonly createdAtMs: number
}

/**
 * Every key a folder has had. Keyrings only grow: members merge what they hear (a union by id),
 * so two devices that added the same folder id apart end with the same keyring, the same current
 * key, and can still open whatever was sealed under any older key.
 */
export interface FolderKeyring {
  readonly folderId: string
  readonly keys: readonly FolderKey[]
}

/** the id of a key: 16 bytes of a domain-separated SHA-256 of it, hex */
export function folderKeyId (key: Uint8Array): string {
  return createHash('sha256').update('ferry folder key id v1\0').update(key).digest('hex').slice(0, 32)
}

export function newFolderKey (epoch = 0, nowMs = Date.now()): FolderKey {
  const key = new Uint8Array(randomBytes(FOLDER_KEY_BYTES))
  return { id: folderKeyId(key), key, epoch, createdAtMs: nowMs }
}

/** the key new data is sealed with: the highest epoch, ties broken by the smallest id */
export function currentKey (ring: FolderKeyring): FolderKey {
  let best: FolderKey | undefined
  for (const k of ring.keys) {
    if (best === undefined || k.epoch > best.epoch || (k.epoch === best.epoch && k.id < best.id)) best = k
  }
  if (best === undefined) throw new FerryError(`folder ${ring.folderId} has no key`, 'ERR_FERRY_NO_FOLDER_KEY', 'ask a member device to share the folder again')
  return best
}

export function keyById (ring: FolderKeyring, id: string): FolderKey | undefined {
  return ring.keys.find(k => k.id === id)
}

/** `a` with every key of `b` it lacks (keys are checked against their ids) */
export function mergeKeyrings (a: FolderKeyring, b: readonly FolderKey[]): FolderKeyring {
  const byId = new Map(a.keys.map(k => [k.id, k]))
  for (const k of b) {
    checkKey(k, a.folderId)
    if (!byId.has(k.id)) byId.set(k.id, k)
  }
  return { folderId: a.folderId, keys: [...byId.values()].sort((x, y) => x.epoch - y.epoch || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)) }
}

/** a keyring with a new key one epoch above every key it has (after removing a member) */
export function rekeyed (ring: FolderKeyring, nowMs = Date.now()): { ring: FolderKeyring, key: FolderKey } {
  const epoch = ring.keys.reduce((m, k) => Math.max(m, k.epoch), -1) + 1
  const key = newFolderKey(epoch, nowMs)
  return { ring: mergeKeyrings(ring, [key]), key }
}

export function checkKey (k: FolderKey, folderId: string): void {
  if (!(k.key instanceof Uint8Array) || k.key.length !== FOLDER_KEY_BYTES || folderKeyId(k.key) !== k.id ||
    !Number.isSafeInteger(k.epoch) || k.epoch < 0 || !Number.isSafeInteger(k.createdAtMs)) {
    throw new FerryError(`a key of folder ${folderId} is malformed`, 'ERR_FERRY_BAD_FOLDER_KEY')
  }
}
