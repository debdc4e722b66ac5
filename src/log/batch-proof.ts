import { createHash } from 'node:crypto'

/**
 * One Ed25519 signature for a whole batch of records (docs/PROTOCOL.md §5.3). The records'
 * hashes are the leaves of a Merkle tree; the author signs the root once, and each record
 * carries, in its signature field, the root's signature plus the sibling hashes that lead
 * from its leaf to the root. A holder still forwards and checks each record on its own (a
 * record is valid when its path leads to a root its device signed), but a batch of n records
 * costs one signature and one check instead of n: for thousands of small files, Ed25519 was
 * the largest CPU cost of both ends.
 *
 * Layout of a batch proof (the record's "signature" byte string):
 *   0x01 (format) ‖ depth k (1 B, 1..16) ‖ leaf index (4 B, big-endian, < 2^k)
 *   ‖ Ed25519 signature of the root (64 B) ‖ k sibling hashes (32 B each, leaf level first)
 * The tree has 2^k leaves; positions past the last record hold 32 zero bytes (no record
 * hashes to that). Hashes are sha2-256 with domain separation:
 *   leaf = H("ferry/leaf/1\0" ‖ recordBytes), node = H("ferry/node/1\0" ‖ left ‖ right),
 *   signed message = "ferry/batch/1\0" ‖ k ‖ root.
 */
export const BATCH_PROOF_FORMAT = 1
export const MAX_BATCH_DEPTH = 16
export const ED25519_SIGNATURE_BYTES = 64
const HASH_BYTES = 32
const HEADER_BYTES = 1 + 1 + 4
export const MAX_BATCH_PROOF_BYTES = HEADER_BYTES + ED25519_SIGNATURE_BYTES + MAX_BATCH_DEPTH * HASH_BYTES

const LEAF_DOMAIN = Buffer.from('ferry/leaf/1\0')
const NODE_DOMAIN = Buffer.from('ferry/node/1\0')
const BATCH_DOMAIN = Buffer.from('ferry/batch/1\0')
const EMPTY = new Uint8Array(HASH_BYTES)

export function leafHash (recordBytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(LEAF_DOMAIN).update(recordBytes).digest()
}

function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash('sha256').update(NODE_DOMAIN).update(left).update(right).digest()
}

/** What the author signs for a batch: the domain, the depth and the root. */
export function batchMessage (depth: number, root: Uint8Array): Uint8Array {
  return Buffer.concat([BATCH_DOMAIN, Uint8Array.of(depth), root])
}

/** A tree over `leaves` (2 ..= 2^16 of them): its depth, root, and each leaf's siblings. */
export interface BatchTree {
  depth: number
  root: Uint8Array
  /** siblings[i] = the k hashes from leaf i's sibling up to the root's child */
  siblings: Uint8Array[][]
}

export function buildBatchTree (leaves: readonly Uint8Array[]): BatchTree {
  if (leaves.length < 2 || leaves.length > 2 ** MAX_BATCH_DEPTH) throw new RangeError(`a batch has 2..${2 ** MAX_BATCH_DEPTH} records, not ${leaves.length}`)
  const depth = Math.ceil(Math.log2(leaves.length))
  const siblings: Uint8Array[][] = leaves.map(() => [])
  let level: Uint8Array[] = [...leaves]
  for (let d = 0; d < depth; d++) {
    const width = 2 ** (depth - d)
    while (level.length < width) level.push(EMPTY)
    // every original leaf under node j of this level gets node j's sibling
    const span = 2 ** d
    for (let i = 0; i < leaves.length; i++) siblings[i]!.push(level[Math.floor(i / span) ^ 1]!)
    const next: Uint8Array[] = []
    for (let j = 0; j < width; j += 2) next.push(nodeHash(level[j]!, level[j + 1]!))
    level = next
  }
  return { depth, root: level[0]!, siblings }
}

export function encodeBatchProof (depth: number, index: number, signature: Uint8Array, siblings: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + ED25519_SIGNATURE_BYTES + depth * HASH_BYTES)
  out[0] = BATCH_PROOF_FORMAT
  out[1] = depth
  new DataView(out.buffer).setUint32(2, index)
  out.set(signature, HEADER_BYTES)
  siblings.forEach((h, i) => out.set(h, HEADER_BYTES + ED25519_SIGNATURE_BYTES + i * HASH_BYTES))
  return out
}

/** A parsed batch proof, with the root the record's leaf leads to. */
export interface OpenedBatchProof {
  depth: number
  root: Uint8Array
  signature: Uint8Array
}

/**
 * Parses `proof` and folds `recordBytes`' leaf up to the root. Returns undefined when the bytes
 * are not a well-formed batch proof (wrong format byte, depth, index or length).
 */
export function openBatchProof (recordBytes: Uint8Array, proof: Uint8Array): OpenedBatchProof | undefined {
  if (proof.byteLength < HEADER_BYTES + ED25519_SIGNATURE_BYTES + HASH_BYTES || proof[0] !== BATCH_PROOF_FORMAT) return undefined
  const depth = proof[1]!
  if (depth < 1 || depth > MAX_BATCH_DEPTH || proof.byteLength !== HEADER_BYTES + ED25519_SIGNATURE_BYTES + depth * HASH_BYTES) return undefined
  const index = new DataView(proof.buffer, proof.byteOffset, proof.byteLength).getUint32(2)
  if (index >= 2 ** depth) return undefined
  let h = leafHash(recordBytes)
  for (let d = 0; d < depth; d++) {
    const at = HEADER_BYTES + ED25519_SIGNATURE_BYTES + d * HASH_BYTES
    const sibling = proof.subarray(at, at + HASH_BYTES)
    h = ((index >>> d) & 1) === 0 ? nodeHash(h, sibling) : nodeHash(sibling, h)
  }
  return { depth, root: h, signature: proof.subarray(HEADER_BYTES, HEADER_BYTES + ED25519_SIGNATURE_BYTES) }
}
