import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import type { CID } from 'multiformats/cid'
import { blockCid, blockCidAsync } from '../hashing/block-cid.ts'
import { DEFAULT_CHUNKER_PARAMS } from './constants.ts'
import type { ChunkerParams } from './constants.ts'
import { Chunker, chunkLengths } from './fastcdc.ts'

/** One content-defined block of a file. */
export interface FileBlock {
  /** Byte offset of the block in the file. */
  offset: number
  /** Length of the block in bytes. */
  size: number
  /** CIDv1 raw sha2-256 of the block's bytes. */
  cid: CID
}

export interface ReadFileBlocksOptions {
  params?: ChunkerParams
  signal?: AbortSignal
  /** Read size of the underlying stream (default 1 MiB). */
  highWaterMark?: number
  /** the file's expected size: a small file gets a read buffer its size, not highWaterMark */
  sizeHint?: number
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024
/** blocks of a big file being hashed at once (off the main thread) */
const HASHES_IN_FLIGHT = 8

/**
 * Streams the file at `path` through the content-defined chunker and yields its
 * blocks in order, each with its bytes and CID. Memory use is bounded by about
 * one maximal chunk plus one read buffer, whatever the file size. An empty file
 * yields nothing. Aborting `signal` stops reading and rejects with its reason.
 */
/** smallest read buffer, whatever the size hint says */
const MIN_READ_BYTES = 4096
/** files up to this size are read in one go */
const SMALL_FILE_BYTES = 1024 * 1024

export async function * readFileBlocks (
  path: string,
  options: ReadFileBlocksOptions = {}
): AsyncGenerator<FileBlock & { bytes: Uint8Array }> {
  const { params = DEFAULT_CHUNKER_PARAMS, signal, sizeHint } = options
  const highWaterMark = Math.min(options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, Math.max((sizeHint ?? Infinity) + 1, MIN_READ_BYTES))
  signal?.throwIfAborted()
  if (sizeHint !== undefined && sizeHint <= SMALL_FILE_BYTES) {
    // small files: one read, no stream machinery (it dominates for thousands of small files).
    // At most sizeHint + 1 bytes are read: a file that grew is caught by the caller's stat check.
    const fh = await open(path, 'r')
    let data: Uint8Array
    try {
      const buf = new Uint8Array(sizeHint + 1)
      let got = 0
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, got)
        if (bytesRead === 0) break
        got += bytesRead
      }
      data = buf.subarray(0, got)
    } finally {
      await fh.close()
    }
    signal?.throwIfAborted()
    let at = 0
    for (const length of chunkLengths(data, params)) {
      const bytes = data.subarray(at, at + length)
      yield { offset: at, size: length, cid: blockCid(bytes), bytes }
      at += length
    }
    return
  }
  const chunker = new Chunker(params)
  const stream = createReadStream(path, { highWaterMark, signal })
  // blocks are hashed on the thread pool while the next ones are cut: up to HASHES_IN_FLIGHT
  // blocks wait for their hash, and are yielded in order
  const pending: Array<{ offset: number, bytes: Uint8Array, cid: Promise<CID> }> = []
  let offset = 0
  const queue = (bytes: Uint8Array): void => {
    pending.push({ offset, bytes, cid: blockCidAsync(bytes) })
    offset += bytes.length
  }
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      for (const bytes of chunker.push(piece)) {
        queue(bytes)
        while (pending.length >= HASHES_IN_FLIGHT) {
          signal?.throwIfAborted()
          const b = pending.shift()!
          yield { offset: b.offset, size: b.bytes.length, cid: await b.cid, bytes: b.bytes }
        }
      }
    }
    for (const bytes of chunker.end()) queue(bytes)
    while (pending.length > 0) {
      signal?.throwIfAborted()
      const b = pending.shift()!
      yield { offset: b.offset, size: b.bytes.length, cid: await b.cid, bytes: b.bytes }
    }
  } finally {
    // Closes the file when the consumer stops early (break/return/throw).
    stream.destroy()
    // hashes still running must not become unhandled rejections
    for (const b of pending) b.cid.catch(() => {})
  }
}
