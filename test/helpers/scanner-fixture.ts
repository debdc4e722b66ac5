// Shared setup of the scanner suites: a real FolderStore on a temporary level database, a
// folder to scan, and helpers that count or disturb the scanner's reads. Bindings such as
// `root` and `store` are live: they hold the current test's values.
import { afterEach, beforeEach } from 'vitest'
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { logger } from '@libp2p/logger'
import type { PrivateKey } from '@libp2p/interface'
import { scanFolder, type ScanOptions, type ScanResult } from '../../src/scanner/scan-folder.ts'
import { FolderStore, type FolderDb, type LocalChange } from '../../src/store/folder-store.ts'
import { readFileBlocks } from '../../src/chunker/file-blocks.ts'
import type { FileRecord } from '../../src/model/file-record.ts'

export const log = logger('test:scanner')

/** Fixed mtimes (whole seconds, so the nanosecond value is exact) */
export const T1 = 1_700_000_000
export const T2 = 1_700_000_100
export const T3 = 1_700_000_200

/** Deterministic pseudo-random bytes (xorshift32): content-defined chunking cuts them into several blocks */
export function randomBytes (n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

export async function blocksOf (abs: string): Promise<Array<{ cid: string, size: number }>> {
  const out: Array<{ cid: string, size: number }> = []
  for await (const b of readFileBlocks(abs)) out.push({ cid: b.cid.toString(), size: b.size })
  return out
}

export function cids (r: FileRecord | undefined): Array<{ cid: string, size: number }> {
  return (r?.blocks ?? []).map(b => ({ cid: b.cid.toString(), size: b.size }))
}

export let dir: string
export let root: string
export let db: ClassicLevel<string, Uint8Array>
export let key: PrivateKey
export let self: string
export let store: FolderStore
/** every batch the scanner handed to `commit` */
export let batches: LocalChange[][]

/** Registers the per-test setup: a temp folder, a fresh store and an empty batch log. */
export function useScannerFixture (): void {
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-scanner-'))
    root = join(dir, 'root')
    await mkdir(root)
    db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
    await db.open()
    const sub = db.sublevel<string, Uint8Array>('f:test', { valueEncoding: 'view' }) as unknown as FolderDb
    key = await generateKeyPair('Ed25519')
    self = peerIdFromPrivateKey(key).toString()
    store = new FolderStore({ db: sub, folder: 'test', self, key })
    await store.open()
    batches = []
  })

  afterEach(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })
}

export const commit = async (changes: LocalChange[]): Promise<number> => {
  batches.push(changes)
  return (await store.commitLocal(changes)).length
}

export async function scan (opts: Partial<ScanOptions> = {}): Promise<ScanResult> {
  return await scanFolder({ root, store, log, commit, ...opts })
}

/** a readBlocks that records which files (folder-relative) it was asked to read */
export function countingReader (reads: string[]): typeof readFileBlocks {
  return (path, options) => {
    reads.push(relative(root, path))
    return readFileBlocks(path, options)
  }
}

/**
 * a readBlocks that, for `target`, runs `disturb` right after the first block was handed out,
 * and reads in small pieces so later blocks really come from the new content
 */
export function disturbingReader (target: string, disturb: () => Promise<void>): typeof readFileBlocks {
  return async function * (path, options) {
    let first = true
    for await (const b of readFileBlocks(path, { ...options, highWaterMark: 16 * 1024 })) {
      yield b
      if (first && relative(root, path) === target) {
        first = false
        await disturb()
      }
    }
  }
}

export async function put (rel: string, content: string | Uint8Array, mtime = T1): Promise<void> {
  await mkdir(join(root, rel, '..'), { recursive: true })
  await writeFile(join(root, rel), content)
  await utimes(join(root, rel), mtime, mtime)
}

export function committedPaths (): string[] {
  return batches.flat().map(c => c.path).sort()
}

/** Starts a fresh record of the batches the scanner commits. */
export function forgetBatches (): void {
  batches = []
}
