import { closeSync, constants, openSync, readSync } from 'node:fs'
import { open } from 'node:fs/promises'
import type { CID } from 'multiformats/cid'
import { blockCid, blockCidAsync, DEFAULT_BLOCK_HASH, type BlockHash } from '../hashing/block-cid.ts'
import { DEFAULT_CHUNKER_PARAMS } from './constants.ts'
import type { ChunkerParams } from './constants.ts'
import { chunkLengths, findCutPointResuming, type CutScanState } from './fastcdc.ts'

/** a symbolic link is never read through: the open fails instead (the scanner skips links) */
const READ_NOFOLLOW = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0)

/** One content-defined block of a file. */
export interface FileBlock {
  /** Byte offset of the block in the file. */
  offset: number
  /** Length of the block in bytes. */
  size: number
  /** CIDv1 raw of the block's bytes, with the hash the reader was given (default blake3). */
  cid: CID
}

export interface ReadFileBlocksOptions {
  params?: ChunkerParams
  signal?: AbortSignal
  /** Read size of the underlying stream (default 1 MiB). */
  highWaterMark?: number
  /** the file's expected size: a small file gets a read buffer its size, not highWaterMark */
  sizeHint?: number
  /** the hash that names the blocks (default DEFAULT_BLOCK_HASH) */
  hash?: BlockHash
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024
/** blocks of a big file being hashed at once (off the main thread) */
const HASHES_IN_FLIGHT = 8

/** smallest read buffer, whatever the size hint says */
const MIN_READ_BYTES = 4096
/** files up to this size are read in one go */
const SMALL_FILE_BYTES = 1024 * 1024
/**
 * files up to this size are read with blocking calls: a few microseconds from the page cache,
 * where each thread-pool round trip of open/read/close costs more CPU than the read itself (a
 * scan of thousands of small files was mostly that). Callers yield to the event loop between
 * files (the scanner does).
 */
const SYNC_READ_BYTES = 64 * 1024

/**
 * Reads the file at `path` through the content-defined chunker and yields its blocks (offset,
 * size, CID) in order. Memory use is one maximal chunk plus one read, whatever the file size. An
 * empty file yields nothing. Aborting `signal` stops reading and rejects with its reason.
 */
export async function * readFileBlocks (
  path: string,
  options: ReadFileBlocksOptions = {}
): AsyncGenerator<FileBlock> {
  const { params = DEFAULT_CHUNKER_PARAMS, signal, sizeHint, hash = DEFAULT_BLOCK_HASH } = options
  const highWaterMark = Math.min(options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, Math.max((sizeHint ?? Infinity) + 1, MIN_READ_BYTES))
  signal?.throwIfAborted()
  if (sizeHint !== undefined && sizeHint <= SMALL_FILE_BYTES) {
    // small files: one read, no stream machinery (it dominates for thousands of small files).
    // At most sizeHint + 1 bytes are read: a file that grew is caught by the caller's stat check.
    let data: Uint8Array
    if (sizeHint <= SYNC_READ_BYTES) data = readSmallSync(path, sizeHint + 1)
    else data = await readSmall(path, sizeHint + 1)
    signal?.throwIfAborted()
    let at = 0
    for (const length of chunkLengths(data, params)) {
      yield { offset: at, size: length, cid: blockCid(data.subarray(at, at + length), hash) }
      at += length
    }
    return
  }
  // big files: one window buffer, reused. Chunks are cut in it and hashed (blake3 inline; sha2-256
  // on the thread pool: WebCrypto copies the bytes when digest() is called, as its spec requires, so the window can
  // be refilled at once), up to HASHES_IN_FLIGHT at a time, yielded in order, while the main
  // thread cuts the next ones. Nothing per block is allocated in the heap, so scanning a big file
  // does not pile up garbage buffers.
  const readSize = Math.max(highWaterMark, MIN_READ_BYTES)
  const window = Buffer.allocUnsafe(params.maxBytes + readSize)
  const fh = await open(path, READ_NOFOLLOW)
  const pending: Array<{ offset: number, size: number, cid: Promise<CID> }> = []
  try {
    let base = 0 // file offset of window[0]
    let start = 0 // start of the next chunk in the window
    let filled = 0
    let eof = false
    // the chunk at `start` is hashed once even when it spans several reads
    const cutState: CutScanState = { scanned: 0, hash: 0 }
    while (!eof || start < filled) {
      signal?.throwIfAborted()
      if (window.length - filled < readSize) {
        window.copyWithin(0, start, filled)
        base += start
        filled -= start
        start = 0
      }
      if (!eof) {
        const { bytesRead } = await fh.read(window, filled, Math.min(readSize, window.length - filled), base + filled)
        if (bytesRead === 0) eof = true
        filled += bytesRead
      }
      // cut every complete chunk now in the window
      while (start < filled) {
        const cut = findCutPointResuming(window, start, filled, cutState, params)
        if (cut < 0 && !eof) break
        const size = cut < 0 ? filled - start : cut
        pending.push({ offset: base + start, size, cid: blockCidAsync(window.subarray(start, start + size), hash) })
        start += size
        while (pending.length >= HASHES_IN_FLIGHT) {
          const b = pending.shift()!
          yield { offset: b.offset, size: b.size, cid: await b.cid }
          signal?.throwIfAborted()
        }
      }
    }
    while (pending.length > 0) {
      const b = pending.shift()!
      yield { offset: b.offset, size: b.size, cid: await b.cid }
      signal?.throwIfAborted()
    }
  } finally {
    // closes the file when the consumer stops early (break/return/throw); hashes still running
    // must not become unhandled rejections
    for (const b of pending) b.cid.catch(() => {})
    await fh.close()
  }
}

/** Up to `max` bytes from the start of the file, with one thread-pool trip per call. */
async function readSmall (path: string, max: number): Promise<Uint8Array> {
  const fh = await open(path, READ_NOFOLLOW)
  try {
    const buf = new Uint8Array(max)
    let got = 0
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    return buf.subarray(0, got)
  } finally {
    await fh.close()
  }
}

/** readSmall with blocking calls (small files only) */
function readSmallSync (path: string, max: number): Uint8Array {
  const fd = openSync(path, READ_NOFOLLOW)
  try {
    const buf = new Uint8Array(max)
    let got = 0
    while (got < buf.length) {
      const bytesRead = readSync(fd, buf, got, buf.length - got, got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    return buf.subarray(0, got)
  } finally {
    closeSync(fd)
  }
}
