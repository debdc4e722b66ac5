import type { FileHandle } from 'node:fs/promises'
import type { CID } from 'multiformats/cid'
import { Uint8ArrayList } from 'uint8arraylist'
import { blockMatches } from '../../src/hashing/block-cid.ts'

/**
 * A block's bytes: one buffer, or the pieces it arrived in over the connection. A received
 * block is hashed and written piece by piece, never copied into one buffer (a copy of every
 * byte received, and the garbage collections those allocations cause, cost more than the hash).
 */
export type BlockBytes = Uint8Array | Uint8ArrayList

/** the pieces of `data`, in order */
export function blockParts (data: BlockBytes): Uint8Array[] {
  return data instanceof Uint8Array ? [data] : [...data]
}

/** `data` as one buffer (copied only when it is in pieces) */
export function contiguous (data: BlockBytes): Uint8Array {
  return data instanceof Uint8Array ? data : data.subarray()
}

/**
 * One buffer reused for block after block, growing to the largest: what it hands out is valid
 * until its next call. (A buffer per block was external memory V8 answered with a full
 * collection every ~60 MiB.)
 */
export class ScratchBuffer {
  private buf = new Uint8Array(0)

  /** its first `length` bytes (contents left from before) */
  sized (length: number): Uint8Array {
    if (this.buf.byteLength < length) this.buf = new Uint8Array(length)
    return this.buf.subarray(0, length)
  }

  /** `contiguous` with the copy made into this buffer (a sealed block is opened from one buffer) */
  whole (data: BlockBytes): Uint8Array {
    if (data instanceof Uint8Array) return data
    const out = this.sized(data.byteLength)
    let at = 0
    for (const piece of data) {
      out.set(piece, at)
      at += piece.byteLength
    }
    return out
  }
}

/** True when `data` hashes to `cid`, with the hash `cid` names (sha2-256 or blake3), piece by piece. */
export function blockBytesMatch (cid: CID, data: BlockBytes): boolean {
  return blockMatches(cid, data instanceof Uint8Array ? data : blockParts(data))
}

/** Writes `data` at `position` of `fh` (its pieces in one writev); a short write is an error. */
export async function writeBlockBytes (fh: FileHandle, data: BlockBytes, position: number): Promise<void> {
  const { bytesWritten } = data instanceof Uint8Array
    ? await fh.write(data, 0, data.byteLength, position)
    : await fh.writev([...data], position)
  if (bytesWritten !== data.byteLength) throw new Error(`short write: ${bytesWritten} of ${data.byteLength} bytes at ${position}`)
}
