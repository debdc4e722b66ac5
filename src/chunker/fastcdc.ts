/**
 * FastCDC content-defined chunking (Xia et al., "FastCDC: a Fast and Efficient
 * Content-Defined Chunking Approach for Data Deduplication", USENIX ATC 2016).
 *
 * - Gear rolling hash: h = (h << 1) + GEAR[byte], kept in 32 bits. After a left
 *   shift by one per byte, bit k of h depends on the last k + 1 bytes only, so
 *   the hash is a rolling hash over a 32-byte window that needs no "remove" step.
 * - Cut-point skipping: hashing starts minBytes into each chunk.
 * - Normalized chunking, level 2: before avgBytes into a chunk the harder mask
 *   maskS (log2(avg) + 2 one-bits) is used, from avgBytes on the easier mask
 *   maskL (log2(avg) - 2 one-bits). This concentrates chunk sizes around avg.
 *   The mask bits are the *top* bits of the 32-bit hash, the ones that depend on
 *   the most bytes (bits 31 .. 12 cover a 13..32-byte window).
 * - A cut is forced at maxBytes.
 *
 * A chunk ends right after the byte whose hash satisfies the mask. Chunk
 * boundaries depend only on the content (never on how the stream is split into
 * pieces), so `Chunker`, `chunkStream`, `chunkLengths` and repeated
 * `findCutPoint` calls all produce identical chunks for identical input.
 */
import { assertChunkerParams, DEFAULT_CHUNKER_PARAMS } from './constants.ts'
import type { ChunkerParams } from './constants.ts'
import { GEAR_SCAN_WASM } from './gear-scan-wasm.ts'

export { assertChunkerParams, DEFAULT_CHUNKER_PARAMS }
export type { ChunkerParams }

/** Seed of the gear table PRNG. Changing it changes every chunk boundary: never do that. */
const GEAR_SEED = 0x6665_7272 // "ferr"

/**
 * 256 pseudo-random 32-bit values (stored as int32 so V8 keeps the hot loop in
 * small-integer arithmetic), produced by splitmix32 from a fixed seed.
 */
export const GEAR: Int32Array = (() => {
  const table = new Int32Array(256)
  let state = GEAR_SEED | 0
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) | 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    table[i] = z ^ (z >>> 16)
  }
  return table
})()

/** Precomputed per-parameter-set values used by the scanner. */
interface Config {
  readonly minBytes: number
  readonly avgBytes: number
  readonly maxBytes: number
  /** int32 mask with log2(avg) + 2 top bits set: used before avgBytes. */
  readonly maskS: number
  /** int32 mask with log2(avg) - 2 top bits set: used from avgBytes on. */
  readonly maskL: number
}

/** int32 with the top `bits` bits set (1 <= bits <= 32). */
function topBits (bits: number): number {
  return (-1 << (32 - bits)) | 0
}

const configCache = new WeakMap<ChunkerParams, Config>()

function configFor (params: ChunkerParams): Config {
  let config = configCache.get(params)
  if (config === undefined) {
    assertChunkerParams(params)
    const bits = Math.round(Math.log2(params.avgBytes))
    config = Object.freeze({
      minBytes: params.minBytes,
      avgBytes: params.avgBytes,
      maxBytes: params.maxBytes,
      maskS: topBits(bits + 2),
      maskL: topBits(bits - 2)
    })
    // Only cache frozen objects: a mutable params object could change under us.
    if (Object.isFrozen(params)) configCache.set(params, config)
  }
  return config
}

/** Hash state left behind by the last `scan` call (avoids allocating a result object). */
let scanHash = 0

/**
 * The hot loop. A chunk starts at index `base` of `buf` (negative when its
 * first bytes were in an earlier buffer); the bytes before index `pos` have
 * already been hashed into `h` (or lie in the skipped minBytes prefix, in which
 * case `h` must be 0). Hashes buf[max(pos, base + minBytes), end) and returns
 * the exclusive end index of the chunk (at most base + maxBytes), or -1 when no
 * cut was found before `end`. The hash state is left in `scanHash`, so a scan
 * can be resumed later with pos = end.
 */
function scan (buf: Uint8Array, base: number, pos: number, end: number, h: number, c: Config): number {
  return wasmKernel === undefined ? scanJs(buf, base, pos, end, h, c) : scanWasm(wasmKernel, buf, base, pos, end, h, c)
}

/** `scan` in JavaScript: the reference, and the fallback where WebAssembly is not available */
function scanJs (buf: Uint8Array, base: number, pos: number, end: number, h: number, c: Config): number {
  const normal = base + c.avgBytes
  const limit = base + c.maxBytes
  const maskS = c.maskS
  const maskL = c.maskL
  let i = pos < base + c.minBytes ? base + c.minBytes : pos
  let stop = end < normal ? end : normal
  for (; i < stop; i++) {
    h = ((h << 1) + GEAR[buf[i]!]!) | 0
    if ((h & maskS) === 0) {
      scanHash = h
      return i + 1
    }
  }
  stop = end < limit ? end : limit
  for (; i < stop; i++) {
    h = ((h << 1) + GEAR[buf[i]!]!) | 0
    if ((h & maskL) === 0) {
      scanHash = h
      return i + 1
    }
  }
  scanHash = h
  return i >= limit ? limit : -1
}

/** The same loop compiled to WebAssembly (src/chunker/gear-scan.wat), and its memory. */
interface WasmKernel {
  scan: (i: number, stop1: number, stop2: number, h: number, maskS: number, maskL: number) => number
  hash: { value: number }
  /** the module's memory from byte WASM_DATA on: the bytes being scanned are copied here */
  data: Uint8Array
}

/** The part of the WebAssembly API used here (Node has it; TypeScript's ES libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: { scan: WasmKernel['scan'], hash: WasmKernel['hash'], memory: { buffer: ArrayBuffer } } }
}

/** where the scanned bytes start in the kernel's memory (the gear table is before) */
const WASM_DATA = 1024
/** bytes copied into the kernel's memory at a time */
const WASM_WINDOW = 1024 * 1024

function loadWasmKernel (): WasmKernel | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly
  if (wasm === undefined) return undefined
  try {
    const { exports } = new wasm.Instance(new wasm.Module(Buffer.from(GEAR_SCAN_WASM, 'base64')))
    const memory = exports.memory.buffer
    const table = new DataView(memory, 0, WASM_DATA)
    for (let i = 0; i < 256; i++) table.setInt32(i * 4, GEAR[i]!, true)
    return { scan: exports.scan, hash: exports.hash, data: new Uint8Array(memory, WASM_DATA, WASM_WINDOW) }
  } catch {
    return undefined // (e.g. node --jitless): the JavaScript loop does the same
  }
}

let wasmKernel = loadWasmKernel()

/**
 * Which implementation of the scan loop runs: 'wasm' (the default where WebAssembly works) or
 * 'js'. Both find the same cut points; tests and benchmarks compare them. Returns the one
 * that ran before.
 */
export function useGearKernel (kind: 'wasm' | 'js'): 'wasm' | 'js' {
  const before = wasmKernel === undefined ? 'js' : 'wasm'
  wasmKernel = kind === 'js' ? undefined : (wasmKernel ?? loadWasmKernel())
  if (kind === 'wasm' && wasmKernel === undefined) throw new Error('WebAssembly is not available in this runtime')
  return before
}

/**
 * `scan` with the loop in WebAssembly: the bytes to hash are copied into the kernel's memory a
 * window at a time (~0.1 s of memcpy per GiB in a perf profile), and the hash carries from one window to the next.
 */
function scanWasm (k: WasmKernel, buf: Uint8Array, base: number, pos: number, end: number, h: number, c: Config): number {
  const normal = base + c.avgBytes
  const limit = base + c.maxBytes
  let i = pos < base + c.minBytes ? base + c.minBytes : pos
  const stop = end < limit ? end : limit
  while (i < stop) {
    const n = stop - i < WASM_WINDOW ? stop - i : WASM_WINDOW
    k.data.set(buf.subarray(i, i + n))
    // in the window's coordinates: the harder mask before `normal`, the easier one after
    const harder = normal - i
    const cut = k.scan(0, harder < 0 ? 0 : harder > n ? n : harder, n, h, c.maskS, c.maskL)
    h = k.hash.value
    if (cut >= 0) {
      scanHash = h
      return i + cut
    }
    i += n
  }
  scanHash = h
  return i >= limit ? limit : -1
}

/**
 * Length of the chunk that starts at `start` in `buf`, looking only at
 * buf[start, end). Returns -1 when no cut point was found and fewer than
 * maxBytes bytes are available (more data is needed; at the end of the stream
 * the remaining bytes form the final chunk). Never returns more than maxBytes.
 *
 * Each call scans from scratch; `Chunker` resumes scans instead, so feeding it
 * small pieces costs no rescanning.
 */
export function findCutPoint (buf: Uint8Array, start: number, end: number, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): number {
  const c = configFor(params)
  if (!(start >= 0 && start <= end && end <= buf.length)) {
    throw new RangeError(`findCutPoint: invalid range [${start}, ${end}) for a buffer of ${buf.length} bytes`)
  }
  const cut = scan(buf, start, start, end, 0, c)
  return cut < 0 ? -1 : cut - start
}

/** Where a chunk's scan stopped: bytes of the chunk already hashed (from its start) and the hash state there. */
export interface CutScanState {
  scanned: number
  hash: number
}

/**
 * findCutPoint for a buffer that fills up over time: when no cut is found, `state` remembers how
 * far the chunk was hashed, and the next call (same chunk start, more bytes) resumes there
 * instead of hashing the chunk from its start again. On a cut, `state` is reset for the next
 * chunk. Returns the chunk's length or -1, like findCutPoint, and finds the same cut points.
 */
export function findCutPointResuming (buf: Uint8Array, start: number, end: number, state: CutScanState, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): number {
  const c = configFor(params)
  if (!(start >= 0 && start <= end && end <= buf.length) || state.scanned < 0 || start + state.scanned > end) {
    throw new RangeError(`findCutPointResuming: invalid range [${start}, ${end}) from ${state.scanned} for a buffer of ${buf.length} bytes`)
  }
  const cut = scan(buf, start, start + state.scanned, end, state.scanned > 0 ? state.hash : 0, c)
  if (cut < 0) {
    state.scanned = end - start
    state.hash = scanHash
    return -1
  }
  state.scanned = state.hash = 0
  return cut - start
}

/** Lengths of the chunks of a complete buffer (the last one may be shorter than minBytes). */
export function chunkLengths (buf: Uint8Array, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): number[] {
  const c = configFor(params)
  const lengths: number[] = []
  const n = buf.length
  let start = 0
  while (start < n) {
    const cut = scan(buf, start, start, n, 0, c)
    const end = cut < 0 ? n : cut
    lengths.push(end - start)
    start = end
  }
  return lengths
}

/** Copies buf[start, end) into a new, plain Uint8Array (never a view, even for Buffers). */
function copyOf (buf: Uint8Array, start: number, end: number): Uint8Array {
  // slice() skips the zero-fill but would return a Buffer (or other subclass) for subclasses.
  if (Object.getPrototypeOf(buf) === Uint8Array.prototype) return buf.slice(start, end)
  const out = new Uint8Array(end - start)
  out.set(buf.subarray(start, end))
  return out
}

/**
 * Streaming chunker: push pieces of any size, get complete chunks back. Each
 * returned chunk is a fresh Uint8Array that the caller owns. Between calls at
 * most one partial chunk (< maxBytes) is buffered. Every byte is hashed exactly
 * once: a partial chunk's scan resumes directly in the next piece (the hash
 * state is carried over), and chunks are copied straight out of the pieces.
 */
const MIN_CARRY_BYTES = 64 * 1024

export class Chunker {
  readonly params: ChunkerParams
  readonly #config: Config
  /** Partial chunk carried between push() calls (allocated on first use, maxBytes long). */
  #buf: Uint8Array | undefined
  /** Bytes in use in #buf; all of them have been scanned (or lie in the skipped prefix). */
  #len = 0
  /** Hash state after scanning the #len buffered bytes. */
  #hash = 0

  constructor (params: ChunkerParams = DEFAULT_CHUNKER_PARAMS) {
    this.#config = configFor(params)
    this.params = params
  }

  /** Number of bytes received but not yet returned as part of a chunk (always < maxBytes). */
  get buffered (): number {
    return this.#len
  }

  /** Feeds the next piece of the stream; returns the chunks it completes (possibly none). */
  push (data: Uint8Array): Uint8Array[] {
    const c = this.#config
    const chunks: Uint8Array[] = []
    const n = data.length
    let off = 0
    const len = this.#len
    if (len > 0) {
      // Resume the partial chunk's scan in `data` itself: the chunk "starts" at
      // index -len of `data`, and scanning resumes at index 0.
      const cut = scan(data, -len, 0, n, this.#hash, c)
      if (cut < 0) {
        // No cut, so len + n < maxBytes: the whole piece fits.
        this.#reserve(len + n).set(data, len)
        this.#len = len + n
        this.#hash = scanHash
        return chunks
      }
      const chunk = new Uint8Array(len + cut)
      chunk.set(this.#buf!.subarray(0, len), 0)
      chunk.set(data.subarray(0, cut), len)
      chunks.push(chunk)
      off = cut
      this.#len = this.#hash = 0
    }
    while (off < n) {
      const cut = scan(data, off, off, n, 0, c)
      if (cut < 0) {
        // The rest of the piece is shorter than maxBytes and holds no cut: carry it over.
        this.#reserve(n - off).set(data.subarray(off, n), 0)
        this.#len = n - off
        this.#hash = scanHash
        break
      }
      chunks.push(copyOf(data, off, cut))
      off = cut
    }
    return chunks
  }

  /**
   * The carry-over buffer with room for `bytes`, keeping its first #len bytes. It grows as
   * needed (at most maxBytes) instead of starting at maxBytes: scanning many small files must
   * not allocate 1 MiB each.
   */
  #reserve (bytes: number): Uint8Array {
    const old = this.#buf
    if (old !== undefined && old.length >= bytes) return old
    const size = Math.min(this.#config.maxBytes, Math.max(bytes, (old?.length ?? 0) * 2, MIN_CARRY_BYTES))
    const buf = new Uint8Array(size)
    if (old !== undefined && this.#len > 0) buf.set(old.subarray(0, this.#len), 0)
    this.#buf = buf
    return buf
  }

  /** Signals the end of the stream; returns the final (short) chunk if any bytes remain. */
  end (): Uint8Array[] {
    if (this.#len === 0) return []
    const last = this.#buf!.slice(0, this.#len)
    this.#len = this.#hash = 0
    return [last]
  }
}

/** Cuts an async stream of byte pieces into content-defined chunks. */
export async function * chunkStream (source: AsyncIterable<Uint8Array>, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): AsyncGenerator<Uint8Array> {
  const chunker = new Chunker(params)
  for await (const piece of source) {
    yield * chunker.push(piece)
  }
  yield * chunker.end()
}
