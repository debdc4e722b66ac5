import { hkdfSync } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { FerryError } from '../errors.ts'
import { currentKey, FOLDER_KEY_BYTES } from './folder-keyring.ts'
import { KeyringFiles } from './keyring-file.ts'

/** HKDF-SHA256 salt and info: a recovery identity is bound to this use and nothing else */
export const RECOVERY_IDENTITY_SALT = 'ferry recovery identity v1'
export const RECOVERY_IDENTITY_INFO = 'ed25519 seed'
const SEED_BYTES = 32

export interface RecoveryIdentity {
  /** Ed25519 key whose seed is HKDF-SHA256(folder key) */
  privateKey: Ed25519PrivateKey
  /** its libp2p PeerId, as a string */
  id: string
}

/**
 * The Ed25519 identity a folder key determines: the same for every holder of the key, and
 * nobody without it can compute it. A device that recovers a folder from its phrase alone can
 * sign with it to prove it holds the key (say, to a relay that keeps the folder's member list).
 */
export async function recoveryIdentity (key: Uint8Array): Promise<RecoveryIdentity> {
  if (key.length !== FOLDER_KEY_BYTES) throw new FerryError('a folder key is 32 bytes', 'ERR_FERRY_BAD_FOLDER_KEY')
  const seed = new Uint8Array(hkdfSync('sha256', key, RECOVERY_IDENTITY_SALT, RECOVERY_IDENTITY_INFO, SEED_BYTES))
  const privateKey = await generateKeyPairFromSeed('Ed25519', seed)
  return { privateKey, id: peerIdFromPrivateKey(privateKey).toString() }
}

/**
 * The raw public keys of the recovery identities of a home's folders' current keys, as a device
 * puts them in its folders' member lists on relays (undefined: no key for the folder). The
 * keyring file is read each time (a rekey changes it); the derivation is done once per key.
 */
export function folderRecoveryKeys (home: string): (folderId: string) => Promise<Uint8Array | undefined> {
  const files = new KeyringFiles(home)
  const derived = new Map<string, Uint8Array>()
  return async folderId => {
    const ring = await files.load(folderId)
    if (ring === undefined || ring.keys.length === 0) return undefined
    const current = currentKey(ring)
    let raw = derived.get(current.id)
    if (raw === undefined) {
      raw = (await recoveryIdentity(current.key)).privateKey.publicKey.raw
      derived.set(current.id, raw)
    }
    return raw
  }
}
