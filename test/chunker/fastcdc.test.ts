import { createCipheriv, createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertChunkerParams, DEFAULT_CHUNKER_PARAMS } from '../../src/chunker/constants.ts'
import type { ChunkerParams } from '../../src/chunker/constants.ts'
import { Chunker, chunkLengths, chunkStream, findCutPoint, findCutPointResuming, GEAR, useGearKernel } from '../../src/chunker/fastcdc.ts'
import { GEAR_SCAN_WASM } from '../../src/chunker/gear-scan-wasm.ts'
import { compileGearScan } from '../../scripts/build-gear-wasm.ts'
import { readFileBlocks } from '../../src/chunker/file-blocks.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'

const KiB = 1024
const MiB = 1024 * KiB
const { minBytes: MIN, maxBytes: MAX } = DEFAULT_CHUNKER_PARAMS

/** Deterministic pseudo-random bytes: AES-256-CTR keystream under a fixed key. */
function pseudoRandomBytes (length: number, keyByte = 7): Uint8Array {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, keyByte), Buffer.alloc(16, 0))
  const out = cipher.update(Buffer.alloc(length))
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

/** mulberry32: small seeded PRNG returning floats in [0, 1). */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Content hashes of the chunks of `buf` (identity of a chunk = its bytes). */
function chunkHashes (buf: Uint8Array, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): string[] {
  const hashes: string[] = []
  let offset = 0
  for (const length of chunkLengths(buf, params)) {
    hashes.push(sha256Hex(buf.subarray(offset, offset + length)))
    offset += length
  }
  return hashes
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Splits `buf` into pieces whose sizes are log-uniform in [1, maxPiece] (so tiny pieces occur too). */
function randomPieces (buf: Uint8Array, seed: number, maxPiece: number): Uint8Array[] {
  const rand = prng(seed)
  const pieces: Uint8Array[] = []
  for (let offset = 0; offset < buf.length;) {
    const size = Math.max(1, Math.floor(Math.exp(rand() * Math.log(maxPiece))))
    pieces.push(buf.subarray(offset, offset + size))
    offset += size
  }
  return pieces
}

/** Fast byte comparison (vitest's toEqual walks typed arrays element by element, far too slowly for MiBs). */
function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0
}

function lengthsOf (chunks: Uint8Array[]): number[] {
  return chunks.map(c => c.length)
}

const SMALL: ChunkerParams = Object.freeze({ minBytes: 256, avgBytes: 1024, maxBytes: 4096 })

let data64: Uint8Array
let lengths64: number[]

beforeAll(() => {
  data64 = pseudoRandomBytes(64 * MiB)
  lengths64 = chunkLengths(data64)
})

describe('gear table', () => {
  it('is a fixed table of 256 distinct 32-bit values', () => {
    expect(GEAR.length).toBe(256)
    expect(new Set(GEAR).size).toBe(256)
    // Pin the table: changing it would change every block id ever produced.
    expect([GEAR[0], GEAR[1], GEAR[255]]).toEqual([-44746147, -1953259890, -317705171])
    expect(createHash('sha256').update(Array.from(GEAR).join(',')).digest('hex'))
      .toBe('ea785b851cc39605489de1e7d9ff841fb6d32373fdb8d0dc7e7d4ca973355f58')
  })
})

describe('chunkLengths', () => {
  it('is deterministic, covers the input and respects min/max', () => {
    expect(chunkLengths(data64)).toEqual(lengths64)
    expect(lengths64.reduce((a, b) => a + b, 0)).toBe(data64.length)
    for (const [i, length] of lengths64.entries()) {
      expect(length).toBeLessThanOrEqual(MAX)
      if (i < lengths64.length - 1) expect(length).toBeGreaterThanOrEqual(MIN)
    }
  })

  it('produces chunks averaging 180-340 KiB on random data', () => {
    const avg = data64.length / lengths64.length
    expect(avg).toBeGreaterThanOrEqual(180 * KiB)
    expect(avg).toBeLessThanOrEqual(340 * KiB)
  })

  it('handles empty and short inputs', () => {
    expect(chunkLengths(new Uint8Array(0))).toEqual([])
    expect(chunkLengths(new Uint8Array(1))).toEqual([1])
    expect(chunkLengths(data64.subarray(0, MIN))).toEqual([MIN])
  })

  it('forces cuts at maxBytes when the content never matches', () => {
    const zeros = new Uint8Array(3 * MAX + 5)
    expect(chunkLengths(zeros)).toEqual([MAX, MAX, MAX, 5])
  })

  it('agrees with repeated findCutPoint calls', () => {
    const buf = data64.subarray(0, 8 * MiB)
    const lengths: number[] = []
    for (let start = 0; start < buf.length;) {
      let length = findCutPoint(buf, start, buf.length)
      if (length < 0) length = buf.length - start
      lengths.push(length)
      start += length
    }
    expect(lengths).toEqual(chunkLengths(buf))
  })

  it('findCutPoint asks for more data only when no cut is possible yet', () => {
    const first = lengths64[0]!
    expect(findCutPoint(data64, 0, first)).toBe(first)
    expect(findCutPoint(data64, 0, first - 1)).toBe(-1)
    expect(findCutPoint(data64, 0, MIN)).toBe(-1)
    expect(findCutPoint(new Uint8Array(MAX - 1), 0, MAX - 1)).toBe(-1)
    expect(findCutPoint(new Uint8Array(MAX + 10), 0, MAX + 10)).toBe(MAX)
    expect(findCutPoint(new Uint8Array(MAX + 10), 10, MAX + 10)).toBe(MAX)
    expect(() => findCutPoint(data64, 5, 4)).toThrow(RangeError)
  })

  it('findCutPointResuming finds the same cuts when the data arrives in pieces, hashing each byte once', () => {
    const buf = data64.subarray(0, 8 * MiB)
    const next = prng(11)
    const lengths: number[] = []
    const state = { scanned: 0, hash: 0 }
    let start = 0
    let end = 0
    while (start < buf.length) {
      end = Math.min(buf.length, end + 1 + Math.floor(next() * 300 * KiB))
      while (start < end) {
        const length = findCutPointResuming(buf, start, end, state)
        if (length < 0) {
          // no cut yet: the state says how far this chunk was hashed
          expect(state.scanned).toBe(end - start)
          if (end === buf.length) { lengths.push(end - start); start = end }
          break
        }
        expect(state).toEqual({ scanned: 0, hash: 0 })
        lengths.push(length)
        start += length
      }
    }
    expect(lengths).toEqual(chunkLengths(buf))
    expect(() => findCutPointResuming(buf, 0, 10, { scanned: 11, hash: 0 })).toThrow(RangeError)
  })
})

describe('Chunker', () => {
  it('gives the same chunks however the input is split (default params, 8 MiB)', () => {
    const buf = data64.subarray(16 * MiB, 24 * MiB)
    const expected = chunkLengths(buf)
    for (const seed of [1, 2, 3]) {
      const chunker = new Chunker()
      const chunks: Uint8Array[] = []
      for (const piece of randomPieces(buf, seed, 3 * MiB)) chunks.push(...chunker.push(piece))
      chunks.push(...chunker.end())
      expect(lengthsOf(chunks)).toEqual(expected)
      expect(sameBytes(concat(...chunks), buf)).toBe(true)
      expect(chunker.buffered).toBe(0)
    }
  })

  it('gives the same chunks however the input is split (small params, tiny pieces)', () => {
    const buf = data64.subarray(0, 512 * KiB)
    const expected = chunkLengths(buf, SMALL)
    expect(expected.length).toBeGreaterThan(200)
    for (const seed of [10, 11]) {
      const chunker = new Chunker(SMALL)
      const chunks: Uint8Array[] = []
      for (const piece of randomPieces(buf, seed, 10_000)) {
        chunks.push(...chunker.push(piece))
        expect(chunker.buffered).toBeLessThan(SMALL.maxBytes)
      }
      chunks.push(...chunker.end())
      expect(lengthsOf(chunks)).toEqual(expected)
      expect(sameBytes(concat(...chunks), buf)).toBe(true)
    }
    // one byte at a time
    const chunker = new Chunker(SMALL)
    const chunks: Uint8Array[] = []
    const bytes = buf.subarray(0, 64 * KiB)
    for (let i = 0; i < bytes.length; i++) chunks.push(...chunker.push(bytes.subarray(i, i + 1)))
    chunks.push(...chunker.end())
    expect(lengthsOf(chunks)).toEqual(chunkLengths(bytes, SMALL))
  })

  it('returns chunks that do not alias the input and survives reuse after end()', () => {
    const piece = Buffer.from(data64.subarray(0, 2 * MiB))
    const chunker = new Chunker()
    const first = chunker.push(piece)
    expect(first.length).toBeGreaterThan(0)
    const copy = Uint8Array.from(first[0]!)
    piece.fill(0)
    expect(sameBytes(first[0]!, copy)).toBe(true)
    expect(Buffer.isBuffer(first[0])).toBe(false)
    chunker.end()
    const again = [...chunker.push(data64.subarray(0, 2 * MiB)), ...chunker.end()]
    expect(lengthsOf(again)).toEqual(chunkLengths(data64.subarray(0, 2 * MiB)))
    expect(chunker.end()).toEqual([])
    expect(chunker.push(new Uint8Array(0))).toEqual([])
  })

  it('chunkStream yields the same chunks', async () => {
    const buf = data64.subarray(0, 4 * MiB)
    async function * source (): AsyncGenerator<Uint8Array> {
      yield * randomPieces(buf, 99, 512 * KiB)
    }
    const chunks: Uint8Array[] = []
    for await (const chunk of chunkStream(source())) chunks.push(chunk)
    expect(lengthsOf(chunks)).toEqual(chunkLengths(buf))
    expect(sameBytes(concat(...chunks), buf)).toBe(true)
  })
})

// An edit changes the chunk that contains it. It can change one more chunk when
// it creates or destroys a cut point (the gear hash only sees the last 32 bytes,
// so only cuts within 32 bytes after the edit are affected): the neighbouring
// chunk then merges with / splits off the edited one. After the first unchanged
// cut point the chunking resynchronises, so at most 2 chunks are new. (Longer
// cascades are possible in theory when a shifted chunk start makes an old cut
// fall under minBytes or into the stricter maskS region, but are rare: none of
// these edits, nor 300 random ones tried while writing this, cause more than 1.)
describe('the scan loop in WebAssembly and in JavaScript', () => {
  /** runs `f` with the given kernel, then restores the one before */
  function withKernel<T> (kind: 'wasm' | 'js', f: () => T): T {
    const before = useGearKernel(kind)
    try { return f() } finally { useGearKernel(before) }
  }
  /** cut points of the stream fed in random pieces through findCutPointResuming */
  function resumedLengths (buf: Uint8Array, params: ChunkerParams, seed: number): number[] {
    const lengths: number[] = []
    const state = { scanned: 0, hash: 0 }
    let start = 0
    let end = 0
    for (const piece of randomPieces(buf, seed, 3 * MiB)) {
      end += piece.length
      for (let cut = findCutPointResuming(buf, start, end, state, params); cut >= 0; cut = findCutPointResuming(buf, start, end, state, params)) {
        lengths.push(cut)
        start += cut
      }
    }
    if (start < buf.length) lengths.push(buf.length - start)
    return lengths
  }
  const BIG: ChunkerParams = Object.freeze({ minBytes: 256 * KiB, avgBytes: 1 * MiB, maxBytes: 4 * MiB })

  it('the committed module is the one gear-scan.wat compiles to (npm run build:wasm)', async () => {
    expect(Buffer.from(GEAR_SCAN_WASM, 'base64').equals(Buffer.from(await compileGearScan()))).toBe(true)
  })

  it('WebAssembly is what runs by default here', () => {
    expect(useGearKernel('wasm')).toBe('wasm')
  })

  for (const [name, params, bytes] of [['default', DEFAULT_CHUNKER_PARAMS, 32 * MiB], ['small', SMALL, 1 * MiB], ['4 MiB chunks (scans span windows)', BIG, 48 * MiB]] as const) {
    it(`both find the same cut points (${name} params), whole and in pieces`, () => {
      const buf = data64.subarray(0, bytes)
      const js = withKernel('js', () => chunkLengths(buf, params))
      const wasm = withKernel('wasm', () => chunkLengths(buf, params))
      expect(js.length).toBeGreaterThan(10)
      expect(wasm).toEqual(js)
      expect(withKernel('wasm', () => resumedLengths(buf, params, 3))).toEqual(js)
      expect(withKernel('js', () => resumedLengths(buf, params, 4))).toEqual(js)
      const pieces = withKernel('wasm', () => {
        const chunker = new Chunker(params)
        return [...randomPieces(buf, 5, 2 * MiB).flatMap(p => chunker.push(p)), ...chunker.end()]
      })
      expect(lengthsOf(pieces)).toEqual(js)
    })
  }

  it('both force cuts at maxBytes on content that never cuts, also past a window', () => {
    const zeros = new Uint8Array(2 * BIG.maxBytes + 3)
    for (const kind of ['wasm', 'js'] as const) {
      expect(withKernel(kind, () => chunkLengths(zeros, BIG))).toEqual([BIG.maxBytes, BIG.maxBytes, 3])
    }
  })
})

describe('boundary stability', () => {
  const edits: Array<{ name: string, at: number, insert?: Uint8Array, remove?: number }> = [
    { name: 'insert 1 byte at start', at: 0, insert: Uint8Array.of(0x42) },
    { name: 'insert 3 bytes at start', at: 0, insert: Uint8Array.of(1, 2, 3) },
    { name: 'insert 17 bytes at start', at: 0, insert: pseudoRandomBytes(17, 9) },
    { name: 'insert 1 byte in the middle', at: 32 * MiB, insert: Uint8Array.of(0) },
    { name: 'insert 3 bytes in the middle', at: 32 * MiB + 12_345, insert: Uint8Array.of(0xff, 0xfe, 0xfd) },
    { name: 'insert 17 bytes in the middle', at: 40 * MiB + 777, insert: pseudoRandomBytes(17, 9) },
    { name: 'delete 1 byte at start', at: 0, remove: 1 },
    { name: 'delete 1 byte in the middle', at: 32 * MiB, remove: 1 },
    { name: 'delete 5 bytes in the middle', at: 20 * MiB + 54_321, remove: 5 },
    { name: 'delete 100 bytes in the middle', at: 48 * MiB + 99, remove: 100 }
  ]

  let oldHashes: Set<string>
  beforeAll(() => {
    oldHashes = new Set(chunkHashes(data64))
  })

  for (const edit of edits) {
    it(`${edit.name} changes at most 2 chunks`, () => {
      const edited = concat(
        data64.subarray(0, edit.at),
        edit.insert ?? new Uint8Array(0),
        data64.subarray(edit.at + (edit.remove ?? 0))
      )
      const newHashes = chunkHashes(edited)
      const fresh = newHashes.filter(h => !oldHashes.has(h))
      expect(fresh.length).toBeGreaterThanOrEqual(1)
      expect(fresh.length).toBeLessThanOrEqual(2)
      const avg = edited.length / newHashes.length
      expect(avg).toBeGreaterThanOrEqual(180 * KiB)
      expect(avg).toBeLessThanOrEqual(340 * KiB)
    })
  }
})

describe('readFileBlocks', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-chunker-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('streams a file into blocks matching chunkLengths and blockCid', async () => {
    const content = data64.subarray(3 * MiB, 9 * MiB + 4321)
    const path = join(dir, 'six-mib.bin')
    await writeFile(path, content)
    const expected = chunkLengths(content)
    for (const highWaterMark of [undefined, 4 * KiB, 64 * KiB, 3 * MiB]) {
      const blocks = []
      for await (const block of readFileBlocks(path, { highWaterMark })) blocks.push(block)
      expect(blocks.map(b => b.size)).toEqual(expected)
      let offset = 0
      for (const block of blocks) {
        expect(block.offset).toBe(offset)
        expect(block.cid.equals(blockCid(content.subarray(offset, offset + block.size)))).toBe(true)
        offset += block.size
      }
      expect(offset).toBe(content.length)
    }
  })

  it('uses the given params', async () => {
    const content = data64.subarray(0, 100 * KiB)
    const path = join(dir, 'small.bin')
    await writeFile(path, content)
    const sizes: number[] = []
    for await (const block of readFileBlocks(path, { params: SMALL, highWaterMark: 1000 })) sizes.push(block.size)
    expect(sizes).toEqual(chunkLengths(content, SMALL))
  })

  it('yields no blocks for an empty file', async () => {
    const path = join(dir, 'empty.bin')
    await writeFile(path, new Uint8Array(0))
    const blocks = []
    for await (const block of readFileBlocks(path)) blocks.push(block)
    expect(blocks).toEqual([])
  })

  it('stops when the signal is aborted', async () => {
    const path = join(dir, 'abort.bin')
    await writeFile(path, data64.subarray(0, 4 * MiB))
    const controller = new AbortController()
    const seen: number[] = []
    await expect((async () => {
      for await (const block of readFileBlocks(path, { signal: controller.signal })) {
        seen.push(block.size)
        controller.abort()
      }
    })()).rejects.toThrow()
    expect(seen.length).toBe(1)
    const aborted = AbortSignal.abort()
    await expect(readFileBlocks(path, { signal: aborted }).next()).rejects.toThrow()
  })

  it('rejects for a missing file', async () => {
    await expect(readFileBlocks(join(dir, 'missing.bin')).next()).rejects.toThrow(/ENOENT/)
  })
})

describe('assertChunkerParams', () => {
  it('accepts the defaults and other valid sets', () => {
    expect(() => assertChunkerParams(DEFAULT_CHUNKER_PARAMS)).not.toThrow()
    expect(() => assertChunkerParams(SMALL)).not.toThrow()
    expect(() => assertChunkerParams({ minBytes: 1000, avgBytes: 4096, maxBytes: 10_000 })).not.toThrow()
  })

  it.each([
    [{ minBytes: 64 * KiB, avgBytes: 200 * KiB, maxBytes: MiB }, /power of two/],
    [{ minBytes: 256 * KiB, avgBytes: 256 * KiB, maxBytes: MiB }, /minBytes .* smaller than avgBytes/],
    [{ minBytes: 300 * KiB, avgBytes: 256 * KiB, maxBytes: MiB }, /minBytes .* smaller than avgBytes/],
    [{ minBytes: 64 * KiB, avgBytes: 256 * KiB, maxBytes: 256 * KiB }, /avgBytes .* smaller than maxBytes/],
    [{ minBytes: 64 * KiB, avgBytes: 256 * KiB, maxBytes: 100 * KiB }, /avgBytes .* smaller than maxBytes/],
    [{ minBytes: 0, avgBytes: 256 * KiB, maxBytes: MiB }, /minBytes must be a positive integer/],
    [{ minBytes: -1, avgBytes: 256 * KiB, maxBytes: MiB }, /minBytes must be a positive integer/],
    [{ minBytes: 1.5, avgBytes: 256 * KiB, maxBytes: MiB }, /minBytes must be a positive integer/],
    [{ minBytes: 64 * KiB, avgBytes: Number.NaN, maxBytes: MiB }, /avgBytes must be a positive integer/],
    [{ minBytes: 64 * KiB, avgBytes: 256 * KiB, maxBytes: Infinity }, /maxBytes must be a positive integer/],
    [{ minBytes: 1, avgBytes: 2, maxBytes: 4 }, /power of two between/],
    [{ minBytes: 1, avgBytes: 2 ** 29, maxBytes: 2 ** 30 }, /power of two between/],
    [{ minBytes: 1, avgBytes: 2 ** 20, maxBytes: 2 ** 31 }, /must not exceed/]
  ])('rejects %o', (params, message) => {
    expect(() => assertChunkerParams(params)).toThrow(message)
    expect(() => new Chunker(params)).toThrow(message)
    expect(() => chunkLengths(new Uint8Array(10), params)).toThrow(message)
  })

  it('rejects a missing params object', () => {
    expect(() => assertChunkerParams(undefined as unknown as ChunkerParams)).toThrow(/invalid chunker params/)
  })
})
