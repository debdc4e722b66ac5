import zlib from 'node:zlib'
import {
  DEFAULT_BROTLI_QUALITY, DEFAULT_GZIP_LEVEL, DEFAULT_MAX_CONCURRENT_COMPRESSIONS, DEFAULT_MAX_BLOCK_BYTES,
  DEFAULT_MIN_SAVING_RATIO, DEFAULT_SAMPLE_BYTES, DEFAULT_ZSTD_LEVEL
} from './constants.ts'

/**
 * Block compression for /ferry/blocks/2 (docs/PROTOCOL.md §7). Codecs are named on the wire;
 * `CODEC_PREFERENCE` is the server's order of choice among those the client accepts. All work
 * runs on libuv's thread pool (async zlib) so the event loop keeps serving.
 */
export type Codec = 'zstd' | 'br' | 'gzip'

/** best first */
export const CODEC_PREFERENCE: readonly Codec[] = ['zstd', 'br', 'gzip']

/** zstd arrived in node:zlib with Node 23.8 / 22.15; brotli and gzip are always there */
const HAS_ZSTD = typeof zlib.zstdCompress === 'function' && typeof zlib.zstdDecompress === 'function'

/** The codecs this runtime can encode and decode, best first. */
export function availableCodecs (): Codec[] {
  return CODEC_PREFERENCE.filter(c => c !== 'zstd' || HAS_ZSTD)
}

export function isCodec (v: string): v is Codec {
  return (CODEC_PREFERENCE as readonly string[]).includes(v)
}

/** The best codec both sides have; names this runtime does not know are ignored. */
export function pickCodec (offered: readonly string[], ours: readonly Codec[] = availableCodecs()): Codec | undefined {
  return ours.find(c => offered.includes(c))
}

type ZlibCall = (buf: Uint8Array, opts: zlib.ZlibOptions | zlib.BrotliOptions | zlib.ZstdOptions, cb: (err: Error | null, out: Buffer) => void) => void

const run = async (fn: ZlibCall, buf: Uint8Array, opts: zlib.ZlibOptions | zlib.BrotliOptions | zlib.ZstdOptions): Promise<Buffer> =>
  await new Promise((resolve, reject) => { fn(buf, opts, (err, out) => { if (err === null) resolve(out); else reject(err) }) })

function compressCall (codec: Codec, level: number, sizeHint: number): [ZlibCall, zlib.ZlibOptions | zlib.BrotliOptions | zlib.ZstdOptions] {
  switch (codec) {
    case 'zstd': return [zlib.zstdCompress as ZlibCall, { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } }]
    case 'br': return [zlib.brotliCompress as ZlibCall, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: sizeHint } }]
    case 'gzip': return [zlib.gzip as ZlibCall, { level }]
  }
}

export const DEFAULT_LEVELS: Readonly<Record<Codec, number>> = { zstd: DEFAULT_ZSTD_LEVEL, br: DEFAULT_BROTLI_QUALITY, gzip: DEFAULT_GZIP_LEVEL }

/** Compresses `data` with `codec` at `level` on the thread pool (no size check, no sampling). */
export async function compressWith (codec: Codec, data: Uint8Array, level = DEFAULT_LEVELS[codec]): Promise<Buffer> {
  const [fn, opts] = compressCall(codec, level, data.byteLength)
  return await run(fn, data, opts)
}

/** window bound for the zstd decoder: a block is at most 1 MiB, so no frame may ask for more */
const ZSTD_MAX_WINDOW_LOG = Math.ceil(Math.log2(DEFAULT_MAX_BLOCK_BYTES))

/** Why a compressed block was refused; the caller turns this into a protocol error. */
export class DecompressFailure extends Error {
  readonly bomb: boolean
  constructor (message: string, bomb: boolean) {
    super(message)
    this.bomb = bomb
  }
}

/**
 * Inflates `data` to exactly `size` bytes. The decoder stops as soon as the output would pass
 * `size` (so a bomb costs at most `size` bytes and the work to make them), and the zstd window
 * is capped at the largest block. Anything else (garbage, truncation, a short result) fails.
 */
export async function decompressBlock (codec: Codec, data: Uint8Array, size: number): Promise<Uint8Array> {
  if (size > DEFAULT_MAX_BLOCK_BYTES) throw new DecompressFailure(`declared size ${size} is over the block maximum`, false)
  let out: Buffer
  try {
    switch (codec) {
      case 'zstd':
        out = await run(zlib.zstdDecompress as ZlibCall, data, { maxOutputLength: size, params: { [zlib.constants.ZSTD_d_windowLogMax]: ZSTD_MAX_WINDOW_LOG } })
        break
      case 'br':
        out = await run(zlib.brotliDecompress as ZlibCall, data, { maxOutputLength: size })
        break
      case 'gzip':
        out = await run(zlib.gunzip as ZlibCall, data, { maxOutputLength: size })
        break
    }
  } catch (e) {
    const err = e as Error & { code?: string }
    if (err.code === 'ERR_BUFFER_TOO_LARGE') throw new DecompressFailure(`${codec} data inflates beyond the declared ${size} bytes`, true)
    throw new DecompressFailure(`${codec} data does not decompress (${err.code ?? err.name}: ${err.message})`, false)
  }
  if (out.byteLength !== size) throw new DecompressFailure(`${codec} data inflates to ${out.byteLength} bytes, not the declared ${size}`, false)
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

/**
 * The quick check: does a small sample of the block shrink? It compresses the first
 * `sampleBytes` with the fastest zstd level (deflate level 1 where zstd is missing), inline:
 * on 8 KiB that is tens of microseconds, less than a thread-pool hop, and about a tenth of
 * what hashing the block costs anyway (bench/compression.ts). Before that, a sample whose bytes
 * are as evenly spread as random bytes (`looksRandom`: compressed, encrypted, media) is taken as
 * incompressible without trying: a fifth of the cost, and most files that do not shrink are of
 * that kind (zstd's set-up per call was a tenth of a sender's CPU for 10,000 small files).
 */
export function sampleShrinks (data: Uint8Array, sampleBytes = DEFAULT_SAMPLE_BYTES, minSavingRatio = DEFAULT_MIN_SAVING_RATIO): boolean {
  const sample = data.subarray(0, Math.min(sampleBytes, data.byteLength))
  if (looksRandom(sample)) return false
  const packed = HAS_ZSTD
    ? zlib.zstdCompressSync(sample, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } })
    : zlib.deflateRawSync(sample, { level: 1 })
  return packed.byteLength <= sample.byteLength * (1 - minSavingRatio)
}

/** shorter samples are always tried with zstd: the byte entropy of few bytes says little */
const MIN_ENTROPY_SAMPLE_BYTES = 1024
/** how far below the entropy expected of random bytes a sample may be and still count as random */
const RANDOM_ENTROPY_MARGIN_BITS = 0.05
const byteCounts = new Uint32Array(256)

/**
 * Whether `sample`'s byte entropy is what uniformly random bytes of its length show: at least
 * 8 bits per byte less the plug-in estimator's bias, 255 / (2 n ln 2), less a small margin (random
 * 8 KiB read 7.97-7.98, text 3.5-5, a CSV ~4). Data whose bytes are spread evenly but repeat
 * (the same random KiB twice) would shrink and is sent raw: the sample misses repeats farther
 * apart than its length anyway.
 */
export function looksRandom (sample: Uint8Array): boolean {
  const n = sample.byteLength
  if (n < MIN_ENTROPY_SAMPLE_BYTES) return false
  byteCounts.fill(0)
  for (let i = 0; i < n; i++) byteCounts[sample[i]!]!++
  let sum = 0
  for (let b = 0; b < 256; b++) { const c = byteCounts[b]!; if (c > 0) sum += c * Math.log2(c) }
  const bits = Math.log2(n) - sum / n
  return bits >= 8 - 255 / (2 * n * Math.LN2) - RANDOM_ENTROPY_MARGIN_BITS
}

/** What goes on the wire for one block: compressed with `codec`, or raw when `codec` is undefined. */
export interface EncodedBlock {
  codec?: Codec
  data: Uint8Array
}

export interface BlockCompressorOptions {
  /** compressions running at once on the thread pool (all streams together) */
  maxConcurrent?: number
  /** a block is sent compressed only if that saves at least this fraction of its size */
  minSavingRatio?: number
  sampleBytes?: number
  levels?: Partial<Record<Codec, number>>
}

/**
 * Decides per block whether compressing pays, and does it with bounded concurrency. A block
 * whose sample does not shrink is sent raw after the sample alone; a block whose full
 * compression saves less than `minSavingRatio` is sent raw too.
 */
export class BlockCompressor {
  private readonly maxConcurrent: number
  private readonly minSavingRatio: number
  private readonly sampleBytes: number
  private readonly levels: Record<Codec, number>
  private running = 0
  private readonly waiting: Array<() => void> = []
  /** counters, for benchmarks and tests */
  readonly stats = { blocks: 0, sampledOut: 0, notWorth: 0, compressed: 0, rawBytes: 0, wireBytes: 0 }

  constructor (opts: BlockCompressorOptions = {}) {
    this.maxConcurrent = opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_COMPRESSIONS
    this.minSavingRatio = opts.minSavingRatio ?? DEFAULT_MIN_SAVING_RATIO
    this.sampleBytes = opts.sampleBytes ?? DEFAULT_SAMPLE_BYTES
    this.levels = { ...DEFAULT_LEVELS, ...opts.levels }
  }

  async encode (data: Uint8Array, codec: Codec | undefined): Promise<EncodedBlock> {
    this.stats.blocks++
    this.stats.rawBytes += data.byteLength
    const raw = (): EncodedBlock => { this.stats.wireBytes += data.byteLength; return { data } }
    if (codec === undefined) return raw()
    if (!sampleShrinks(data, this.sampleBytes, this.minSavingRatio)) {
      this.stats.sampledOut++
      return raw()
    }
    await this.acquire()
    let packed: Buffer
    try {
      packed = await compressWith(codec, data, this.levels[codec])
    } finally {
      this.release()
    }
    if (packed.byteLength > data.byteLength * (1 - this.minSavingRatio)) {
      this.stats.notWorth++
      return raw()
    }
    this.stats.compressed++
    this.stats.wireBytes += packed.byteLength
    return { codec, data: new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength) }
  }

  private async acquire (): Promise<void> {
    if (this.running < this.maxConcurrent) {
      this.running++
      return
    }
    // the releasing job hands its slot over, so `running` stays as it is
    await new Promise<void>(resolve => this.waiting.push(resolve))
  }

  private release (): void {
    const next = this.waiting.shift()
    if (next !== undefined) next()
    else this.running--
  }
}
