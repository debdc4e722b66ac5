import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { FerryError } from '../errors.ts'
import { writeFileAtomic } from '../config/atomic-write.ts'

export const KEY_FILE = 'device.key'

/** Creates a new Ed25519 device key (mode 0600); refuses to overwrite an existing one. */
export async function createDeviceKey (home: string): Promise<PrivateKey> {
  const path = join(home, KEY_FILE)
  const exists = await stat(path).then(() => true, () => false)
  if (exists) {
    throw new FerryError(`${home} already holds a device identity`, 'ERR_FERRY_ALREADY_INITIALIZED', 'use another --home, or `ferry id` to print it')
  }
  const key = await generateKeyPair('Ed25519')
  await writeFileAtomic(path, privateKeyToProtobuf(key), 0o600)
  return key
}

export async function loadDeviceKey (home: string): Promise<PrivateKey> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(join(home, KEY_FILE))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FerryError(`no ferry identity in ${home}`, 'ERR_FERRY_NOT_INITIALIZED', 'run `ferry init` first, or pass --home')
    }
    throw err
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch {
    throw new FerryError(`${join(home, KEY_FILE)} is not a valid device key`, 'ERR_FERRY_BAD_KEY')
  }
}

export function deviceIdOf (key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString()
}
