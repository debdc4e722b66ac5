/**
 * Microbenchmark for block compression (protocols/blocks/compression.ts); not part of npm test.
 *   node bench/compression.ts [--mib 16]
 * 1. Random 256 KiB blocks: CPU per GiB of the quick check (the sample compression that decides
 *    a block is not worth compressing) next to sha256, which every served block costs anyway.
 * 2. Text blocks (CSV of pseudo-random numbers, test/helpers/compressible-data.ts): ratio and
 *    single-core MB/s per codec and level, compressing and decompressing.
 * Figures are per core, measured with process.cpuUsage (user + system), so a loaded machine
 * shows in wall time but less in these numbers.
 */
import zlib from 'node:zlib'
import { createHash, randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { BlockCompressor, sampleShrinks, type Codec } from '../protocols/blocks/compression.ts'
import { DEFAULT_MAX_CONCURRENT_COMPRESSIONS } from '../protocols/blocks/constants.ts'
import { csvText } from '../test/helpers/compressible-data.ts'

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
const BLOCK_BYTES = 256 * KiB

const { values } = parseArgs({ options: { mib: { type: 'string', default: '16' } } })
const totalBytes = Number(values.mib) * MiB
const blockCount = Math.max(1, Math.floor(totalBytes / BLOCK_BYTES))

const ROUNDS = 3

/** CPU microseconds (user + system) that `fn` takes over all blocks: best of ROUNDS after a warm-up run */
function cpu (fn: () => void): number {
  fn()
  let best = Infinity
  for (let i = 0; i < ROUNDS; i++) {
    const before = process.cpuUsage()
    fn()
    const d = process.cpuUsage(before)
    best = Math.min(best, d.user + d.system)
  }
  return best
}

async function cpuAsync (fn: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage()
  await fn()
  const d = process.cpuUsage(before)
  return d.user + d.system
}

const perGiB = (us: number, bytes: number): string => `${(us / 1e6 * GiB / bytes).toFixed(3)} s/GiB`

function entropyBits (data: Uint8Array, n: number): number {
  const h = new Uint32Array(256)
  for (let i = 0; i < n; i++) h[data[i]!]!++
  let e = 0
  for (const c of h) if (c > 0) { const p = c / n; e -= p * Math.log2(p) }
  return e
}

console.log(`# block compression microbenchmark (node ${process.version}, ${blockCount} blocks of 256 KiB = ${(blockCount * BLOCK_BYTES / MiB).toFixed(0)} MiB per run)`)

// 1. random blocks
const random = Array.from({ length: blockCount }, () => new Uint8Array(randomBytes(BLOCK_BYTES)))
const randomBytesTotal = blockCount * BLOCK_BYTES
console.log('\n## random 256 KiB blocks: CPU per GiB of blocks')
const sha = cpu(() => { for (const b of random) createHash('sha256').update(b).digest() })
console.log(`sha256 (paid for every block served)         ${perGiB(sha, randomBytesTotal)}`)
for (const sample of [4 * KiB, 8 * KiB, 16 * KiB]) {
  let shrunk = 0
  const us = cpu(() => { shrunk = 0; for (const b of random) if (sampleShrinks(b, sample)) shrunk++ })
  console.log(`quick check: zstd-1 on first ${String(sample / KiB).padStart(2)} KiB, inline  ${perGiB(us, randomBytesTotal)}  (${(us / sha * 100).toFixed(0)}% of sha256, ${(us / blockCount).toFixed(0)} us per block; ${shrunk} false positives)`)
}
for (const sample of [8 * KiB, 16 * KiB]) {
  let high = 0
  const us = cpu(() => { high = 0; for (const b of random) if (entropyBits(b, sample) > 7.5) high++ })
  console.log(`alternative: byte entropy of ${String(sample / KiB).padStart(2)} KiB (JS loop)   ${perGiB(us, randomBytesTotal)}  (${(us / sha * 100).toFixed(0)}% of sha256; ${blockCount - high} false positives)`)
}
{
  const us = cpu(() => { for (const b of random) zlib.deflateRawSync(b.subarray(0, 8 * KiB), { level: 1 }) })
  console.log(`fallback without zstd: deflate-1 on 8 KiB    ${perGiB(us, randomBytesTotal)}  (${(us / sha * 100).toFixed(0)}% of sha256)`)
}
{
  const opts = { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } }
  const once = async (b: Uint8Array): Promise<Buffer> => await new Promise((resolve, reject) => zlib.zstdCompress(b.subarray(0, 8 * KiB), opts, (e, out) => { if (e === null) resolve(out); else reject(e) }))
  for (const b of random) await once(b) // warm-up
  const start = performance.now()
  const us = await cpuAsync(async () => { for (const b of random) await once(b) })
  const wallUs = (performance.now() - start) * 1000
  console.log(`same check on the thread pool (async)        ${perGiB(us, randomBytesTotal)}  (${(wallUs / blockCount).toFixed(0)} us wall per block vs inline: see above)`)
}
{
  const c = new BlockCompressor()
  const us = await cpuAsync(async () => { for (const b of random) await c.encode(b, 'zstd') })
  console.log(`BlockCompressor.encode(zstd), whole path     ${perGiB(us, randomBytesTotal)}  (${c.stats.sampledOut}/${c.stats.blocks} skipped by the check)`)
}
{
  const us = cpu(() => { for (const b of random) zlib.zstdCompressSync(b, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } }) })
  console.log(`for scale: zstd-1 on the whole block         ${perGiB(us, randomBytesTotal)}`)
}

// 2. text blocks
const text = Array.from({ length: blockCount }, (_v, i) => csvText(BLOCK_BYTES, i + 1))
const textBytes = blockCount * BLOCK_BYTES
const levels: Array<[Codec, number[]]> = [['zstd', [1, 3, 6, 9]], ['br', [1, 3, 5, 7]], ['gzip', [1, 6, 9]]]

function compressSync (codec: Codec, b: Uint8Array, level: number): Buffer {
  switch (codec) {
    case 'zstd': return zlib.zstdCompressSync(b, { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } })
    case 'br': return zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.byteLength } })
    case 'gzip': return zlib.gzipSync(b, { level })
  }
}
function decompressSync (codec: Codec, b: Uint8Array): Buffer {
  switch (codec) {
    case 'zstd': return zlib.zstdDecompressSync(b)
    case 'br': return zlib.brotliDecompressSync(b)
    case 'gzip': return zlib.gunzipSync(b)
  }
}

console.log('\n## text 256 KiB blocks (CSV of random numbers), one core')
console.log('codec  level  ratio   compress MB/s  decompress MB/s')
for (const [codec, ls] of levels) {
  for (const level of ls) {
    let packed: Buffer[] = []
    const cUs = cpu(() => { packed = text.map(b => compressSync(codec, b, level)) })
    const dUs = cpu(() => { for (const p of packed) decompressSync(codec, p) })
    const ratio = packed.reduce((n, p) => n + p.byteLength, 0) / textBytes
    const mbs = (us: number): string => (textBytes / 1e6 / (us / 1e6)).toFixed(0).padStart(8)
    console.log(`${codec.padEnd(6)} ${String(level).padStart(5)}  ${ratio.toFixed(3)}  ${mbs(cUs)}       ${mbs(dUs)}`)
  }
}
{
  const c = new BlockCompressor()
  const start = performance.now()
  const us = await cpuAsync(async () => { await Promise.all(text.map(async b => await c.encode(b, 'zstd'))) })
  const wallS = (performance.now() - start) / 1000
  console.log(`\nBlockCompressor (zstd, default level, at most ${DEFAULT_MAX_CONCURRENT_COMPRESSIONS} on the thread pool): ratio ${(c.stats.wireBytes / c.stats.rawBytes).toFixed(3)}, ` +
    `${(textBytes / 1e6 / wallS).toFixed(0)} MB/s wall, ${(textBytes / 1e6 / (us / 1e6)).toFixed(0)} MB/s per CPU-second`)
}
