import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { decode, encode } from 'cborg'
import { FerryError } from '../errors.ts'
import { checkKey, currentKey, keyById, type FolderKey, type FolderKeyring } from './folder-keyring.ts'

const FORMAT = 1
const NONCE_BYTES = 12
const TAG_BYTES = 16
const aad = (folder: string, keyId: string): Buffer => Buffer.from(`ferry sealed keyring v1\0${folder}\0${keyId}`)

/**
 * A folder's whole keyring sealed (AES-256-GCM) under its current key, as an opaque blob a relay
 * keeps beside the folder: CBOR [1, keyId, nonce, ciphertext‖tag]. Whoever holds that key (a
 * recovery phrase) opens it and gets every older key, so data sealed under any epoch opens. A
 * member removed before a rekey holds only older keys: it cannot open a blob sealed after it.
 */
export function sealKeyring (ring: FolderKeyring): Uint8Array {
  const key = currentKey(ring)
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce)
  cipher.setAAD(aad(ring.folderId, key.id))
  const plain = encode(ring.keys.map(k => [k.id, k.key, k.epoch, k.createdAtMs]))
  const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()])
  return encode([FORMAT, key.id, new Uint8Array(nonce), new Uint8Array(sealed)])
}

/** the id of the key a blob is sealed under (undefined: not a sealed keyring) */
export function sealedUnder (blob: Uint8Array): string | undefined {
  try {
    const v = decode(blob) as unknown
    return Array.isArray(v) && v[0] === FORMAT && typeof v[1] === 'string' ? v[1] : undefined
  } catch {
    return undefined
  }
}

/** The keys a blob holds, opened with one of `keys`; ERR_FERRY_BAD_SEALED_KEYRING if it does not open. */
export function openSealedKeyring (blob: Uint8Array, folder: string, keys: readonly FolderKey[]): FolderKey[] {
  const bad = (why: string): FerryError => new FerryError(`the relay's sealed keyring of ${folder} ${why}`, 'ERR_FERRY_BAD_SEALED_KEYRING')
  let v: unknown
  try { v = decode(blob) } catch { throw bad('is not CBOR') }
  if (!Array.isArray(v) || v.length !== 4 || v[0] !== FORMAT || typeof v[1] !== 'string' || !(v[2] instanceof Uint8Array) || v[2].length !== NONCE_BYTES || !(v[3] instanceof Uint8Array) || v[3].length < TAG_BYTES) throw bad('is malformed')
  const key = keyById({ folderId: folder, keys }, v[1])
  if (key === undefined) throw bad(`is sealed under key ${v[1].slice(0, 8)}, not one of these`)
  const sealed = v[3]
  const decipher = createDecipheriv('aes-256-gcm', key.key, v[2])
  decipher.setAAD(aad(folder, key.id))
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
  let plain: Buffer
  try {
    plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()])
  } catch {
    throw bad('does not open (altered, or not of this folder)')
  }
  const list = decode(plain) as unknown
  if (!Array.isArray(list)) throw bad('holds no key list')
  return list.map((k: unknown) => {
    if (!Array.isArray(k) || k.length !== 4) throw bad('holds a malformed key')
    const fk = { id: k[0], key: k[1], epoch: k[2], createdAtMs: k[3] } as FolderKey
    checkKey(fk, folder)
    return fk
  })
}
