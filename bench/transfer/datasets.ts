/**
 * Deterministic data sets, identical for every tool in a run:
 * - big file: AES-256-CTR keystream with key and IV from PBKDF2-SHA256(seed, no salt, 10,000
 *   iterations), i.e. byte-identical to the anchors' `openssl enc -aes-256-ctr -pbkdf2 -nosalt
 *   -pass pass:anchor-seed-1 -in /dev/zero` (incompressible);
 * - S3 patch: 1 MiB of the keystream "anchor-seed-3", written in place at the middle (MiB aligned);
 * - S4: one byte 0x42 prepended (new file written next to the folder, renamed over);
 * - S2: 10,000 files in 100 directories, sizes uniform in [1024, 20480] (mulberry32(42)), content
 *   from the keystream "anchor-seed-2" (same shape as the anchors' tree, not the same bytes).
 */
import { createCipheriv, createHash, pbkdf2Sync, type Cipheriv } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { KiB, MiB } from './util.ts'

export const BIG_SEED = 'anchor-seed-1'
export const SMALL_SEED = 'anchor-seed-2'
export const PATCH_SEED = 'anchor-seed-3'
export const S7_SEED = 'anchor-seed-7'
export const INSERT_BYTE = 0x42
export const SMALL_FILES = 10_000
export const SMALL_DIRS = 100
export const SMALL_MIN = 1 * KiB
export const SMALL_MAX = 20 * KiB

const CHUNK = 4 * MiB
const ZEROS = Buffer.alloc(CHUNK)

export function keystream (seed: string): Cipheriv {
  const k = pbkdf2Sync(seed, Buffer.alloc(0), 10_000, 48, 'sha256')
  return createCipheriv('aes-256-ctr', k.subarray(0, 32), k.subarray(32))
}

export function keystreamBytes (size: number, seed: string): Buffer {
  return keystream(seed).update(Buffer.alloc(size))
}

/** writes `size` keystream bytes of `seed` to `path`; returns the sha256 of the content */
export async function writeKeystreamFile (path: string, size: number, seed: string): Promise<string> {
  const ks = keystream(seed)
  const hash = createHash('sha256')
  const fh = await open(path, 'w')
  try {
    for (let left = size; left > 0;) {
      const n = Math.min(left, CHUNK)
      const buf = ks.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n))
      hash.update(buf)
      await fh.write(buf, 0, n)
      left -= n
    }
  } finally {
    await fh.close()
  }
  return hash.digest('hex')
}

/** the S3 patch: 1 MiB (at most a quarter of the file) at the middle, MiB aligned */
export function patchFor (size: number): { offset: number, data: Buffer } {
  const len = Math.min(MiB, Math.max(1, Math.floor(size / 4)))
  const offset = size >= 2 * MiB ? Math.floor(size / 2 / MiB) * MiB : Math.floor((size - len) / 2)
  return { offset, data: keystreamBytes(len, PATCH_SEED) }
}

/** overwrites bytes in place (no truncation) */
export async function applyPatchInPlace (path: string, patch: { offset: number, data: Buffer }): Promise<void> {
  const fh = await open(path, 'r+')
  try { await fh.write(patch.data, 0, patch.data.length, patch.offset) } finally { await fh.close() }
}

/** dst = 0x42 + contents(src) */
export async function writeInsertedCopy (src: string, dst: string): Promise<void> {
  const out = await open(dst, 'w')
  try {
    await out.write(Buffer.from([INSERT_BYTE]))
    for await (const chunk of createReadStream(src, { highWaterMark: 8 * MiB })) await out.write(chunk as Buffer)
  } finally {
    await out.close()
  }
}

function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** 10,000 files in 100 subdirectories of `root`; returns counts */
export async function makeSmallTree (root: string): Promise<{ files: number, bytes: number }> {
  const rng = mulberry32(42)
  const ks = keystream(SMALL_SEED)
  const perDir = SMALL_FILES / SMALL_DIRS
  let bytes = 0
  for (let d = 0; d < SMALL_DIRS; d++) {
    const dir = join(root, `d${String(d).padStart(3, '0')}`)
    await mkdir(dir, { recursive: true })
    const writes: Array<Promise<void>> = []
    for (let i = 0; i < perDir; i++) {
      const n = SMALL_MIN + Math.floor(rng() * (SMALL_MAX - SMALL_MIN + 1))
      const data = ks.update(ZEROS.subarray(0, n))
      bytes += n
      writes.push(writeFile(join(dir, `f${String(d * perDir + i).padStart(5, '0')}.bin`), data))
    }
    await Promise.all(writes)
  }
  return { files: SMALL_FILES, bytes }
}

export async function sha256File (path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 8 * MiB })) h.update(chunk as Buffer)
  return h.digest('hex')
}

export interface TreeDigest { files: number, bytes: number, digest: string }

/** files, bytes and one digest over sorted (path, sha256(content)) of a tree; skips `.ferry`/`.stfolder`-like names given */
export async function treeDigest (root: string, skip: string[] = ['.ferry', '.stfolder', '.stversions']): Promise<TreeDigest> {
  const entries: Array<[string, string, number]> = []
  const walk = async (rel: string): Promise<void> => {
    const list = await readdir(join(root, rel), { withFileTypes: true })
    for (const e of list) {
      if (rel === '' && skip.includes(e.name)) continue
      const p = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) await walk(p)
      else if (e.isFile()) {
        const data = await readFile(join(root, p))
        entries.push([p, createHash('sha256').update(data).digest('hex'), data.length])
      }
    }
  }
  await walk('')
  entries.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  const h = createHash('sha256')
  let bytes = 0
  for (const [p, d, n] of entries) { h.update(`${p}\0${d}\n`); bytes += n }
  return { files: entries.length, bytes, digest: h.digest('hex') }
}
