import { encode, decode } from 'cborg'
import { peerIdFromString } from '@libp2p/peer-id'
import { publicKeyFromProtobuf, publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { STRICT_CBOR } from '../log/record-codec.ts'
import { FerryError } from '../errors.ts'

/** Domain separation: a member-list signature can never be replayed as a record's (or anything else's). */
const SIGNATURE_DOMAIN = new TextEncoder().encode('ferry/members/1\0')
const FORMAT = 'ferry-members/1'
/** the `signer` of a list signed with the private key of the held list's recoveryKey */
export const RECOVERY_SIGNER = 'recovery'
export const MAX_MEMBERS = 1024
const ED25519_PUBLIC_KEY_BYTES = 32

/** what a member may do with the folder on a relay: `write` uploads (and signs list updates); `read` only reads */
export type MemberRole = 'write' | 'read'

/** Who may use one folder on a relay. */
export interface MemberList {
  folder: string
  /** an update is taken only with a higher version than the list held */
  version: number
  /** device id -> role */
  members: Record<string, MemberRole>
  /** raw Ed25519 public key whose private key may sign updates (a member that lost every writer) */
  recoveryKey?: Uint8Array
}

/** A list with the exact bytes signed, the signature and who signed it (a device id or RECOVERY_SIGNER). */
export interface SignedMemberList {
  readonly list: MemberList
  readonly bytes: Uint8Array
  readonly signature: Uint8Array
  readonly signer: string
}

export class InvalidMemberListError extends FerryError {
  constructor (why: string) {
    super(`invalid member list: ${why}`, 'ERR_FERRY_BAD_MEMBER_LIST')
  }
}

export class ForgedMemberListError extends FerryError {
  constructor (folder: string, signer: string) {
    super(`member list of folder ${folder} has a bad signature by ${signer}`, 'ERR_FERRY_FORGED_MEMBER_LIST')
  }
}

function payload (bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNATURE_DOMAIN.byteLength + bytes.byteLength)
  out.set(SIGNATURE_DOMAIN, 0)
  out.set(bytes, SIGNATURE_DOMAIN.byteLength)
  return out
}

/** A recovery key as raw Ed25519 bytes (32) or a libp2p protobuf public key: always the raw bytes. */
export function rawRecoveryKey (key: Uint8Array): Uint8Array {
  let pub: PublicKey
  try {
    pub = key.byteLength === ED25519_PUBLIC_KEY_BYTES ? publicKeyFromRaw(key) : publicKeyFromProtobuf(key)
  } catch { throw new InvalidMemberListError('recoveryKey is not a public key') }
  if (pub.type !== 'Ed25519') throw new InvalidMemberListError('recoveryKey must be Ed25519')
  return pub.raw
}

export function encodeMemberList (list: MemberList): Uint8Array {
  const members = Object.entries(list.members).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  return encode([FORMAT, list.folder, list.version, members, list.recoveryKey === undefined ? null : rawRecoveryKey(list.recoveryKey)])
}

export function decodeMemberList (bytes: Uint8Array): MemberList {
  let v: unknown
  try { v = decode(bytes, STRICT_CBOR) } catch (err) { throw new InvalidMemberListError(`bad CBOR: ${(err as Error).message}`) }
  if (!Array.isArray(v) || v.length !== 5) throw new InvalidMemberListError('not a 5-element array')
  const [format, folder, version, members, recoveryKey] = v as unknown[]
  if (format !== FORMAT) throw new InvalidMemberListError(`unknown format ${String(format).slice(0, 40)}`)
  if (typeof folder !== 'string' || folder.length === 0 || folder.length > 256) throw new InvalidMemberListError('bad folder')
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw new InvalidMemberListError('bad version')
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_MEMBERS) throw new InvalidMemberListError('bad member count')
  const out: Record<string, MemberRole> = {}
  for (const m of members as unknown[]) {
    if (!Array.isArray(m) || m.length !== 2) throw new InvalidMemberListError('bad member')
    const [id, role] = m as unknown[]
    if (typeof id !== 'string' || id.length > 128 || id in out) throw new InvalidMemberListError('bad member id')
    try { peerIdFromString(id) } catch { throw new InvalidMemberListError(`bad member id ${id.slice(0, 60)}`) }
    if (role !== 'write' && role !== 'read') throw new InvalidMemberListError('bad role')
    out[id] = role
  }
  const list: MemberList = { folder, version, members: out }
  if (recoveryKey !== null) {
    if (!(recoveryKey instanceof Uint8Array)) throw new InvalidMemberListError('bad recoveryKey')
    list.recoveryKey = rawRecoveryKey(recoveryKey)
  }
  return list
}

/** Signs `list` as `key`'s device. */
export async function signMemberList (list: MemberList, key: PrivateKey, signer: string): Promise<SignedMemberList> {
  const bytes = encodeMemberList(list)
  return { list: decodeMemberList(bytes), bytes, signature: await key.sign(payload(bytes)), signer }
}

/** Whether `signature` over `bytes` is `publicKey`'s (raw Ed25519). */
export async function signedBy (bytes: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  try { return await publicKeyFromRaw(publicKey).verify(payload(bytes), signature) } catch { return false }
}

/**
 * Decodes a list and, when a device signed it, checks the signature with the device's key (its
 * id holds it). A RECOVERY_SIGNER list is decoded only: its key is in the list the relay holds.
 */
export async function openMemberList (bytes: Uint8Array, signature: Uint8Array, signer: string): Promise<SignedMemberList> {
  const list = decodeMemberList(bytes)
  if (signer !== RECOVERY_SIGNER) {
    let pub: PublicKey | undefined
    try { pub = peerIdFromString(signer).publicKey } catch { pub = undefined }
    if (pub === undefined || !(await signedBy(bytes, signature, pub.raw))) throw new ForgedMemberListError(list.folder, signer)
  }
  return { list, bytes, signature, signer }
}
