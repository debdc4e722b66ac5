import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendFile, chmod, lstat, mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises'
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
import { blockCid } from '../../src/hashing/block-cid.ts'
import { dominates } from '../../src/model/version-vector.ts'
import type { FileRecord } from '../../src/model/file-record.ts'

const log = logger('test:scanner')

/** Fixed mtimes (whole seconds, so the nanosecond value is exact) */
const T1 = 1_700_000_000
const T2 = 1_700_000_100
const T3 = 1_700_000_200

/** Deterministic pseudo-random bytes (xorshift32): content-defined chunking cuts them into several blocks */
function randomBytes (n: number, seed: number): Uint8Array {
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

async function blocksOf (abs: string): Promise<Array<{ cid: string, size: number }>> {
  const out: Array<{ cid: string, size: number }> = []
  for await (const b of readFileBlocks(abs)) out.push({ cid: b.cid.toString(), size: b.size })
  return out
}

function cids (r: FileRecord | undefined): Array<{ cid: string, size: number }> {
  return (r?.blocks ?? []).map(b => ({ cid: b.cid.toString(), size: b.size }))
}

let dir: string
let root: string
let db: ClassicLevel<string, Uint8Array>
let key: PrivateKey
let self: string
let store: FolderStore
/** every batch the scanner handed to `commit` */
let batches: LocalChange[][]

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

const commit = async (changes: LocalChange[]): Promise<number> => {
  batches.push(changes)
  return (await store.commitLocal(changes)).length
}

async function scan (opts: Partial<ScanOptions> = {}): Promise<ScanResult> {
  return await scanFolder({ root, store, log, commit, ...opts })
}

/** a readBlocks that records which files (folder-relative) it was asked to read */
function countingReader (reads: string[]): typeof readFileBlocks {
  return (path, options) => {
    reads.push(relative(root, path))
    return readFileBlocks(path, options)
  }
}

/**
 * a readBlocks that, for `target`, runs `disturb` right after the first block was handed out,
 * and reads in small pieces so later blocks really come from the new content
 */
function disturbingReader (target: string, disturb: () => Promise<void>): typeof readFileBlocks {
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

async function put (rel: string, content: string | Uint8Array, mtime = T1): Promise<void> {
  await mkdir(join(root, rel, '..'), { recursive: true })
  await writeFile(join(root, rel), content)
  await utimes(join(root, rel), mtime, mtime)
}

function committedPaths (): string[] {
  return batches.flat().map(c => c.path).sort()
}

describe('scanFolder: first full scan', () => {
  it('records every file with its size, blocks, mode and mtime, and every directory', async () => {
    await put('a.txt', 'hello ferry')
    await chmod(join(root, 'a.txt'), 0o640)
    await put('big.bin', randomBytes(600 * 1024, 7))
    await put('empty.txt', '')
    await put('docs/readme.md', '# readme\n')
    await mkdir(join(root, 'docs/nested'))
    await mkdir(join(root, 'emptydir'))

    const result = await scan()

    const own = store.ownRecords()
    expect([...own.keys()].sort()).toEqual(['a.txt', 'big.bin', 'docs', 'docs/nested', 'docs/readme.md', 'empty.txt', 'emptydir'])
    expect(result).toEqual({ changed: 7, unstable: [], files: 4, dirs: 3 })

    for (const path of ['a.txt', 'big.bin', 'empty.txt', 'docs/readme.md']) {
      const abs = join(root, path)
      const st = await lstat(abs, { bigint: true })
      const r = own.get(path)!
      expect(r.type, path).toBe('file')
      expect(r.deleted, path).toBe(false)
      expect(r.device, path).toBe(self)
      expect(r.size, path).toBe(Number(st.size))
      expect(cids(r), path).toEqual(await blocksOf(abs))
      expect(r.mode, path).toBe(Number(st.mode & 0o777n))
      expect(r.mtimeMs, path).toBe(Number(st.mtimeNs / 1_000_000n))
      expect(store.meta(path), path).toEqual({ ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs.toString(), mode: Number(st.mode & 0o777n) })
    }
    expect(own.get('big.bin')!.blocks.length).toBeGreaterThan(1)
    expect(own.get('empty.txt')!.blocks).toEqual([])
    expect(own.get('a.txt')!.mode).toBe(0o640)
    expect(own.get('a.txt')!.mtimeMs).toBe(T1 * 1000)

    for (const path of ['docs', 'docs/nested', 'emptydir']) {
      const r = own.get(path)!
      expect(r.type, path).toBe('dir')
      expect(r.deleted, path).toBe(false)
      expect(r.size, path).toBe(0)
      expect(r.blocks, path).toEqual([])
    }
  })

  it('skips the .ferry directory at the root and names that are not valid paths', async () => {
    await put('ok.txt', 'ok')
    await put('.ferry/state', 'internal')
    await put('.ferry/deep/more', 'internal')
    await put('back\\slash.txt', 'invalid name')
    await put('sub/tab\there.txt', 'invalid name')

    const reads: string[] = []
    const result = await scan({ readBlocks: countingReader(reads) })

    expect([...store.ownRecords().keys()].sort()).toEqual(['ok.txt', 'sub'])
    expect(reads).toEqual(['ok.txt'])
    expect(result.files).toBe(1)
  })
})

describe('scanFolder: rescans', () => {
  it('commits nothing and reads no content when nothing changed', async () => {
    await put('a.txt', 'a')
    await put('dir/b.bin', randomBytes(200 * 1024, 3))
    await mkdir(join(root, 'empty'))
    await scan()
    const before = store.ownRecords()
    const position = store.position(self)
    batches = []

    const reads: string[] = []
    const result = await scan({ readBlocks: countingReader(reads) })

    expect(reads).toEqual([])
    expect(batches).toEqual([])
    expect(result.changed).toBe(0)
    expect(store.position(self)).toBe(position)
    expect(store.ownRecords()).toEqual(before)
  })

  it('recognises a renamed or moved file by inode, size and mtime, without reading it', async () => {
    await put('big.bin', randomBytes(300 * 1024, 9))
    await mkdir(join(root, 'sub'))
    await scan()
    const original = store.own('big.bin')!
    await rename(join(root, 'big.bin'), join(root, 'sub/moved.bin'))
    const reads: string[] = []
    await scan({ readBlocks: countingReader(reads), paths: ['big.bin', 'sub/moved.bin'] })
    expect(reads).toEqual([])
    const moved = store.own('sub/moved.bin')!
    expect(moved.blocks.map(b => b.cid.toString())).toEqual(original.blocks.map(b => b.cid.toString()))
    expect(moved.size).toBe(original.size)
    expect(store.own('big.bin')!.deleted).toBe(true)
  })

  it('re-reads only files whose size, mtime or inode changed; identical content keeps its version', async () => {
    await put('modified.txt', 'version one')
    await put('renamed.txt', 'AAAAAAAA')
    await put('touched.txt', 'same content')
    await put('untouched.txt', 'never changes')
    await scan()
    const before = store.ownRecords()
    const renamedIno = (await lstat(join(root, 'renamed.txt'))).ino
    batches = []

    // size (and mtime) change
    await put('modified.txt', 'version two, longer', T2)
    // new inode, same size, mtime set back
    await writeFile(join(root, 'tmp'), 'BBBBBBBB')
    await rename(join(root, 'tmp'), join(root, 'renamed.txt'))
    await utimes(join(root, 'renamed.txt'), T1, T1)
    expect((await lstat(join(root, 'renamed.txt'))).ino).not.toBe(renamedIno)
    // mtime only
    await utimes(join(root, 'touched.txt'), T3, T3)

    const reads: string[] = []
    await scan({ readBlocks: countingReader(reads) })

    expect(reads.sort()).toEqual(['modified.txt', 'renamed.txt', 'touched.txt'])
    expect(committedPaths()).toEqual(['modified.txt', 'renamed.txt'])

    for (const path of ['modified.txt', 'renamed.txt']) {
      const now = store.own(path)!
      expect(now.seq, path).toBeGreaterThan(before.get(path)!.seq)
      expect(dominates(now.version, before.get(path)!.version), path).toBe(true)
      expect(cids(now), path).toEqual(await blocksOf(join(root, path)))
    }

    const touched = store.own('touched.txt')!
    expect(touched.seq).toBe(before.get('touched.txt')!.seq)
    expect(touched.version).toEqual(before.get('touched.txt')!.version)
    expect(store.meta('touched.txt')!.mtimeNs).toBe((BigInt(T3) * 1_000_000_000n).toString())

    expect(store.own('untouched.txt')).toEqual(before.get('untouched.txt'))
  })

  it('a touched file with identical content is not read again on the next scan', async () => {
    await put('touched.txt', 'same content')
    await scan()
    await utimes(join(root, 'touched.txt'), T2, T2)
    await scan()

    const reads: string[] = []
    await scan({ readBlocks: countingReader(reads) })
    expect(reads).toEqual([])
  })

  it('only the executable bit changing gives a new version with the same blocks, without reading', async () => {
    await put('tool.sh', randomBytes(150 * 1024, 11))
    await chmod(join(root, 'tool.sh'), 0o644)
    await scan()
    const before = store.own('tool.sh')!
    batches = []

    await chmod(join(root, 'tool.sh'), 0o755)
    const reads: string[] = []
    await scan({ readBlocks: countingReader(reads) })

    expect(reads).toEqual([])
    const after = store.own('tool.sh')!
    expect(after.seq).toBeGreaterThan(before.seq)
    expect(dominates(after.version, before.version)).toBe(true)
    expect(after.mode & 0o111).toBe(0o111)
    expect(after.size).toBe(before.size)
    expect(cids(after)).toEqual(cids(before))
    expect(store.meta('tool.sh')!.mode).toBe(0o755)
  })
})

describe('scanFolder: files that change while being read', () => {
  it('a new file that grows during the read is reported unstable, not recorded, and recorded by the next scan', async () => {
    await put('stable.txt', 'stable')
    await put('grow.bin', randomBytes(300 * 1024, 5))

    const result = await scan({
      readBlocks: disturbingReader('grow.bin', async () => { await appendFile(join(root, 'grow.bin'), randomBytes(100 * 1024, 6)) })
    })

    expect(result.unstable).toEqual(['grow.bin'])
    expect(store.own('grow.bin')).toBeUndefined()
    expect(committedPaths()).toEqual(['stable.txt'])

    await scan()
    const r = store.own('grow.bin')!
    expect(r.size).toBe(400 * 1024)
    expect(cids(r)).toEqual(await blocksOf(join(root, 'grow.bin')))
  })

  it('a known file rewritten during the read keeps its old record until a scan sees it settle', async () => {
    const v1 = randomBytes(700 * 1024, 21)
    const v2 = randomBytes(700 * 1024, 22)
    const v3 = randomBytes(700 * 1024, 23)
    await put('busy.bin', v1)
    await scan()
    const before = store.own('busy.bin')!
    const metaBefore = store.meta('busy.bin')
    expect(before.blocks.length).toBeGreaterThan(1)
    batches = []

    await put('busy.bin', v2, T2)
    const result = await scan({
      readBlocks: disturbingReader('busy.bin', async () => {
        // same size: only the mtime tells
        await writeFile(join(root, 'busy.bin'), v3)
        await utimes(join(root, 'busy.bin'), T3, T3)
      })
    })

    expect(result.unstable).toEqual(['busy.bin'])
    expect(batches).toEqual([])
    expect(store.own('busy.bin')).toEqual(before)
    expect(store.meta('busy.bin')).toEqual(metaBefore)

    await scan()
    const after = store.own('busy.bin')!
    expect(after.seq).toBeGreaterThan(before.seq)
    const expected = await blocksOf(join(root, 'busy.bin'))
    expect(cids(after)).toEqual(expected)
    // the final content is v3, read start to end
    const v3Blocks: string[] = []
    let offset = 0
    for (const b of expected) { v3Blocks.push(blockCid(v3.subarray(offset, offset + b.size)).toString()); offset += b.size }
    expect(expected.map(b => b.cid)).toEqual(v3Blocks)
  })
})

describe('scanFolder: deletes and partial scans', () => {
  it('a full scan tombstones a removed file and every entry of a removed directory tree', async () => {
    await put('keep.txt', 'keep')
    await put('gone.txt', 'gone')
    await put('tree/x.txt', 'x')
    await put('tree/sub/y.txt', 'y')
    await mkdir(join(root, 'tree/sub/empty'))
    await scan()
    const before = store.ownRecords()
    batches = []

    await rm(join(root, 'gone.txt'))
    await rm(join(root, 'tree'), { recursive: true })
    await scan()

    const gone = ['gone.txt', 'tree', 'tree/sub', 'tree/sub/empty', 'tree/sub/y.txt', 'tree/x.txt']
    expect(committedPaths()).toEqual(gone)
    for (const path of gone) {
      const r = store.own(path)!
      const old = before.get(path)!
      expect(r.deleted, path).toBe(true)
      expect(r.type, path).toBe(old.type)
      expect(r.blocks, path).toEqual([])
      expect(r.seq, path).toBeGreaterThan(old.seq)
      expect(dominates(r.version, old.version), path).toBe(true)
      expect(store.meta(path), path).toBeUndefined()
    }
    expect(store.own('keep.txt')).toEqual(before.get('keep.txt'))

    // a tombstone is not repeated
    batches = []
    await scan()
    expect(batches).toEqual([])
  })

  it('a partial scan of a removed directory tombstones its whole subtree and nothing else', async () => {
    await put('gone-dir/a.txt', 'a')
    await put('gone-dir/deeper/b.txt', 'b')
    await put('gone-dirt.txt', 'sibling with a common prefix')
    await put('other.txt', 'removed but not reported')
    await scan()
    const before = store.ownRecords()
    batches = []

    await rm(join(root, 'gone-dir'), { recursive: true })
    await rm(join(root, 'other.txt'))
    await scan({ paths: ['gone-dir'] })

    const gone = ['gone-dir', 'gone-dir/a.txt', 'gone-dir/deeper', 'gone-dir/deeper/b.txt']
    expect(committedPaths()).toEqual(gone)
    for (const path of gone) {
      const r = store.own(path)!
      expect(r.deleted, path).toBe(true)
      expect(r.type, path).toBe(before.get(path)!.type)
      expect(dominates(r.version, before.get(path)!.version), path).toBe(true)
    }
    expect(store.own('gone-dirt.txt')).toEqual(before.get('gone-dirt.txt'))
    expect(store.own('other.txt')).toEqual(before.get('other.txt'))
  })

  it('a partial scan of a new directory walks it and records everything inside', async () => {
    await put('old.txt', 'old')
    await scan()
    batches = []

    await put('fresh/a.txt', 'a')
    await put('fresh/deep/b.bin', randomBytes(100 * 1024, 9))
    await mkdir(join(root, 'fresh/deep/empty'))
    await put('unreported.txt', 'not in paths')
    const result = await scan({ paths: ['fresh'] })

    expect(committedPaths()).toEqual(['fresh', 'fresh/a.txt', 'fresh/deep', 'fresh/deep/b.bin', 'fresh/deep/empty'])
    expect(store.own('fresh')!.type).toBe('dir')
    expect(store.own('fresh/deep/empty')!.type).toBe('dir')
    expect(cids(store.own('fresh/deep/b.bin'))).toEqual(await blocksOf(join(root, 'fresh/deep/b.bin')))
    expect(store.own('unreported.txt')).toBeUndefined()
    expect(result.unstable).toEqual([])
  })

  it('a partial scan of a changed file records only that file', async () => {
    await put('a.txt', 'a')
    await put('b.txt', 'b')
    await scan()
    batches = []

    await put('a.txt', 'a changed', T2)
    await put('b.txt', 'b changed', T2)
    const reads: string[] = []
    await scan({ paths: ['a.txt'], readBlocks: countingReader(reads) })

    expect(reads).toEqual(['a.txt'])
    expect(committedPaths()).toEqual(['a.txt'])
    expect(store.own('a.txt')!.size).toBe('a changed'.length)
  })

  // regression: the records below a directory replaced by a file are tombstoned too
  it('a partial scan of a directory replaced by a file tombstones what was below it', async () => {
    await put('x/a.txt', 'a')
    await scan()

    await rm(join(root, 'x'), { recursive: true })
    await put('x', 'now a file')
    await scan({ paths: ['x'] })

    expect(store.own('x')!.type).toBe('file')
    expect(store.own('x/a.txt')!.deleted).toBe(true)
  })
})

describe('scanFolder: stale changes', () => {
  async function peerKey (): Promise<{ key: PrivateKey, id: string }> {
    const k = await generateKeyPair('Ed25519')
    return { key: k, id: peerIdFromPrivateKey(k).toString() }
  }

  /** what the applier would commit when it installs a peer's version of `path` */
  function adoption (path: string, peer: string, own: FileRecord): LocalChange {
    const content = new TextEncoder().encode(`peer's version of ${path}`)
    const remote: FileRecord = {
      folder: 'test',
      device: peer,
      seq: 1,
      path,
      type: 'file',
      size: content.length,
      mode: 0o644,
      mtimeMs: T3 * 1000,
      deleted: false,
      modifiedBy: peer,
      version: { ...own.version, [peer]: 1 },
      blocks: [{ cid: blockCid(content), size: content.length }]
    }
    return { path, type: 'file', size: remote.size, mode: remote.mode, mtimeMs: remote.mtimeMs, deleted: false, blocks: remote.blocks, adopt: remote, base: own.seq }
  }

  it('a modification whose base was overtaken by an adopted record is dropped', async () => {
    const peer = await peerKey()
    await put('a.txt', 'mine')
    await put('b.txt', 'also mine')
    await scan()
    const ownA = store.own('a.txt')!
    const ownB = store.own('b.txt')!

    await put('a.txt', 'mine, edited', T2)
    await put('b.txt', 'also mine, edited', T2)
    let adopted: FileRecord | undefined
    const offered: LocalChange[] = []
    const committed: FileRecord[] = []
    await scan({
      commit: async changes => {
        // the applier installs the peer's version between the scanner's look and its commit
        adopted ??= (await store.commitLocal([adoption('a.txt', peer.id, ownA)]))[0]
        offered.push(...changes)
        const done = await store.commitLocal(changes)
        committed.push(...done)
        return done.length
      }
    })

    expect(offered.map(c => [c.path, c.base])).toEqual([['a.txt', ownA.seq], ['b.txt', ownB.seq]])
    expect(committed.map(r => r.path)).toEqual(['b.txt'])
    expect(adopted).toBeDefined()
    expect(store.own('a.txt')).toEqual(adopted)
    expect(store.own('a.txt')!.modifiedBy).toBe(peer.id)
  })

  it('a tombstone whose base was overtaken by an adopted record is dropped', async () => {
    const peer = await peerKey()
    await put('gone.txt', 'mine')
    await scan()
    const own = store.own('gone.txt')!

    await rm(join(root, 'gone.txt'))
    let adopted: FileRecord | undefined
    const offered: LocalChange[] = []
    await scan({
      commit: async changes => {
        adopted ??= (await store.commitLocal([adoption('gone.txt', peer.id, own)]))[0]
        offered.push(...changes)
        await store.commitLocal(changes)
      }
    })

    expect(offered.map(c => [c.path, c.deleted, c.base])).toEqual([['gone.txt', true, own.seq]])
    expect(store.own('gone.txt')).toEqual(adopted)
    expect(store.own('gone.txt')!.deleted).toBe(false)
  })
})
