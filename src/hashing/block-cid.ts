import { createHash, webcrypto } from 'node:crypto'
import { blake3, Blake3Hasher } from '@napi-rs/blake-hash'
import { CID } from 'multiformats/cid'
import { Digest } from 'multiformats/hashes/digest'

/** the hashes a block CID may name: sha2-256 (every ferry so far) and blake3 (new blocks) */
export type BlockHash = 'sha2-256' | 'blake3'
/** multicodec code of sha2-256 */
export const SHA2_256_CODE = 0x12
/** multicodec code of blake3 (32-byte digest) */
export const BLAKE3_CODE = 0x1e
/**
 * The hash of blocks this device makes. BLAKE3 (a native binding) costs about a quarter of the
 * CPU of OpenSSL's SHA-256 per byte, and both sides hash every byte of a transfer. Blocks named
 * by sha2-256 are still read, verified and served.
 */
export const DEFAULT_BLOCK_HASH: BlockHash = 'blake3'

const HASH_CODES: Readonly<Record<BlockHash, number>> = { 'sha2-256': SHA2_256_CODE, blake3: BLAKE3_CODE }

/** multicodec code of raw */
const RAW_CODE = 0x55
const DIGEST_BYTES = 32
/** the binary form of every block CID: varints 1 (CIDv1), 0x55 (raw), the hash's code, 32, then the digest */
const PREFIX_BYTES = 4
const CID_BYTES = PREFIX_BYTES + DIGEST_BYTES
/**
 * Block CIDs' bytes are carved out of shared slabs. A CID made the usual way owns three small
 * ArrayBuffers (digest, multihash, CID bytes), each with its native backing store: ~1 KB per
 * block, for every block of every file held (a 4 GiB file is ~16,000 blocks, and several
 * structures hold its block list). Here one 36-byte slice holds all three as views. A slab stays
 * alive while any CID cut from it does, so it is kept small.
 */
const SLAB_BYTES = 128 * CID_BYTES
let slab = new Uint8Array(0)
let slabUsed = 0

/** the hash named by a multihash code, or undefined for one no block CID may use */
function hashOfCode (code: number): BlockHash | undefined {
  return code === BLAKE3_CODE ? 'blake3' : code === SHA2_256_CODE ? 'sha2-256' : undefined
}

/** The digest of `bytes` (or of its pieces, in order) under `hash`. */
export function blockDigest (hash: BlockHash, bytes: Uint8Array | Iterable<Uint8Array>): Uint8Array {
  if (bytes instanceof Uint8Array) return hash === 'blake3' ? blake3(bytes) : createHash('sha256').update(bytes).digest()
  if (hash === 'blake3') {
    const h = new Blake3Hasher()
    for (const part of bytes) h.update(part)
    return h.digestBuffer()
  }
  const h = createHash('sha256')
  for (const part of bytes) h.update(part)
  return h.digest()
}

/** CIDv1, raw codec, `hash` (default DEFAULT_BLOCK_HASH): the id of a block of file content. */
export function blockCid (bytes: Uint8Array, hash: BlockHash = DEFAULT_BLOCK_HASH): CID {
  return blockCidOfDigest(blockDigest(hash, bytes), hash)
}

/** A block CID over a fresh copy of `digest` (32 bytes), its views sharing one slab slice. */
function cidOfDigestBytes (code: number, digest: Uint8Array): CID {
  if (slabUsed + CID_BYTES > slab.byteLength) {
    slab = new Uint8Array(SLAB_BYTES)
    slabUsed = 0
  }
  const bytes = slab.subarray(slabUsed, slabUsed + CID_BYTES)
  slabUsed += CID_BYTES
  bytes[0] = 0x01
  bytes[1] = RAW_CODE
  bytes[2] = code
  bytes[3] = DIGEST_BYTES
  bytes.set(digest, PREFIX_BYTES)
  const multihash = new Digest(code, DIGEST_BYTES, bytes.subarray(PREFIX_BYTES), bytes.subarray(2))
  return new CID(1, RAW_CODE, multihash, bytes)
}

/** the block CID of a `hash` digest (32 bytes, copied); default sha2-256 */
export function blockCidOfDigest (digest: Uint8Array, hash: BlockHash = 'sha2-256'): CID {
  if (digest.byteLength !== DIGEST_BYTES) throw new Error(`not a ${hash} digest`)
  return cidOfDigestBytes(HASH_CODES[hash], digest)
}

/** True when `digest` is the one `cid` names (computed with `cid`'s hash: see blockHashOf); makes no CID */
export function digestMatches (cid: CID, digest: Uint8Array): boolean {
  if (!isBlockCid(cid) || digest.byteLength !== DIGEST_BYTES) return false
  const d = cid.multihash.digest
  if (d.byteLength !== DIGEST_BYTES) return false
  for (let i = 0; i < DIGEST_BYTES; i++) if (d[i] !== digest[i]) return false
  return true
}

/** The hash `cid` names, or undefined if it is no block CID. */
export function blockHashOf (cid: CID): BlockHash | undefined {
  if (cid.version !== 1 || cid.code !== RAW_CODE) return undefined
  return hashOfCode(cid.multihash.code)
}

/** True for the only kinds of block id ferry accepts: CIDv1, raw, sha2-256 or blake3. */
export function isBlockCid (cid: CID): boolean {
  return blockHashOf(cid) !== undefined
}

/**
 * blockCid off the main thread where that pays: sha2-256 on the thread pool (WebCrypto);
 * blake3 inline (a native call faster than a thread-pool round trip).
 */
export async function blockCidAsync (bytes: Uint8Array, hash: BlockHash = DEFAULT_BLOCK_HASH): Promise<CID> {
  if (hash === 'blake3') return blockCid(bytes, hash)
  return blockCidOfDigest(new Uint8Array(await webcrypto.subtle.digest('SHA-256', bytes)), hash)
}

/** True when `bytes` (one buffer, or its pieces in order) hash to `cid`, with the hash `cid` names. */
export function blockMatches (cid: CID, bytes: Uint8Array | Iterable<Uint8Array>): boolean {
  const hash = blockHashOf(cid)
  if (hash === undefined) return false
  return digestMatches(cid, blockDigest(hash, bytes))
}

/**
 * Parses the binary form of a block CID, refusing anything but CIDv1/raw/(sha2-256 or blake3)
 * with a 32-byte digest (in its one, shortest form). The CID does not keep a view of `bytes`
 * (which may be a message buffer).
 */
export function decodeBlockCid (bytes: Uint8Array): CID {
  const code = bytes[2] ?? -1
  if (bytes.byteLength !== CID_BYTES || bytes[0] !== 0x01 || bytes[1] !== RAW_CODE || hashOfCode(code) === undefined || bytes[3] !== DIGEST_BYTES) {
    throw new Error('not a CIDv1 raw sha2-256 or blake3 block id')
  }
  return cidOfDigestBytes(code, bytes.subarray(PREFIX_BYTES))
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/**
 * `cid.toString()` (multibase base32, prefix "b"), built as one flat string. multiformats
 * builds the string a character at a time and caches it on the CID: V8 keeps such a string as a
 * tree of ~60 concatenation nodes (~1.5 KB instead of ~80 bytes), and every block of every file
 * we hold has one as a map key: 21 MB of heap for a 4 GiB file. Use this for keys and lookups.
 */
export function cidKey (cid: CID): string {
  let key = cidKeys.get(cid)
  if (key === undefined) {
    key = computeCidKey(cid)
    cidKeys.set(cid, key)
  }
  return key
}

/** keys already built, per CID object (one CID of a record is keyed many times on its way) */
const cidKeys = new WeakMap<CID, string>()

function computeCidKey (cid: CID): string {
  const bytes = cid.bytes
  const out = new Uint8Array(1 + Math.ceil(bytes.byteLength * 8 / 5))
  out[0] = 0x62 // 'b'
  let o = 1
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out[o++] = BASE32.charCodeAt((buffer >> bits) & 31)
    }
  }
  if (bits > 0) out[o++] = BASE32.charCodeAt((buffer << (5 - bits)) & 31)
  return Buffer.from(out.buffer, 0, o).toString('latin1')
}
