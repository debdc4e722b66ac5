import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import type { CID } from 'multiformats/cid'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { BlockStore } from '../../relay/store/block-store.ts'

const PACK_BYTES = 64 * 1024
const BLOCK_BYTES = 8 * 1024

interface Block { cid: CID, data: Uint8Array }

function blocks (n: number): Block[] {
  return Array.from({ length: n }, () => {
    const data = new Uint8Array(randomBytes(BLOCK_BYTES))
    return { cid: blockCid(data), data }
  })
}

describe('packed relay blocks', () => {
  let dir: string
  let db: ClassicLevel<string, Uint8Array>
  let store: BlockStore

  async function openStore (): Promise<BlockStore> {
    db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
    await db.open()
    const s = new BlockStore(join(dir, 'blocks'), db.sublevel<string, string>('packed', { valueEncoding: 'utf8' }), { packBytes: PACK_BYTES })
    await s.open()
    return s
  }

  async function reopen (): Promise<void> {
    await store.close()
    await db.close()
    store = await openStore()
  }

  const packsDir = (): string => join(dir, 'blocks', 'packs')
  const packs = async (): Promise<string[]> => (await readdir(packsDir())).filter(n => n.endsWith('.pack')).sort((a, b) => parseInt(a) - parseInt(b))
  const packBytes = async (): Promise<number> => (await Promise.all((await packs()).map(async n => (await stat(join(packsDir(), n))).size))).reduce((a, b) => a + b, 0)

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-packs-'))
    store = await openStore()
  })

  afterEach(async () => {
    await store.close()
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('stores blocks arriving at once in packs, reads them back after a reopen, and appends to a new pack', async () => {
    const all = blocks(40)
    const placed: string[] = []
    const fresh = await Promise.all(all.map(async b => await store.put(b.cid, b.data, { packed: true, beforePlace: async () => { placed.push(b.cid.toString()) } })))
    expect(fresh.every(f => f)).toBe(true)
    expect(placed.length).toBe(40)
    // a second put of the same block is not written again
    expect(await store.put(all[0]!.cid, all[0]!.data, { packed: true })).toBe(false)
    const before = await packs()
    expect(before.length).toBeGreaterThan(3)
    // no block file: every block is in a pack
    expect((await readdir(join(dir, 'blocks'))).filter(n => /^[0-9a-f]{2}$/.test(n))).toEqual([])
    await reopen()
    for (const b of all) {
      expect(await store.has(b.cid)).toBe(true)
      expect(Buffer.from((await store.get(b.cid))!).equals(Buffer.from(b.data))).toBe(true)
    }
    const listed = []
    for await (const b of store.list()) listed.push(b)
    expect(listed.map(b => b.cid.toString()).sort()).toEqual(all.map(b => b.cid.toString()).sort())
    expect(listed.every(b => b.size === BLOCK_BYTES)).toBe(true)
    const more = blocks(1)[0]!
    await store.put(more.cid, more.data, { packed: true })
    const after = await packs()
    expect(after.length).toBe(before.length + 1)
    expect(parseInt(after.at(-1)!)).toBeGreaterThan(parseInt(before.at(-1)!))
  })

  it('a torn append (a crash mid-write) leaves the blocks stored before it intact, and nothing else shows', async () => {
    const all = blocks(5)
    for (const b of all) await store.put(b.cid, b.data, { packed: true })
    await store.close()
    const last = join(packsDir(), (await packs()).at(-1)!)
    const torn = blocks(1)[0]!
    // what a crash leaves: a header and half a block, no index entry
    await appendFile(last, Buffer.concat([Buffer.from('FBP1'), Buffer.alloc(8), Buffer.from(torn.cid.bytes), Buffer.from(torn.data.subarray(0, 1000))]))
    await db.close()
    store = await openStore()
    for (const b of all) expect(Buffer.from((await store.get(b.cid))!).equals(Buffer.from(b.data))).toBe(true)
    expect(await store.has(torn.cid)).toBe(false)
    await store.put(torn.cid, torn.data, { packed: true })
    expect(Buffer.from((await store.get(torn.cid))!).equals(Buffer.from(torn.data))).toBe(true)
  })

  it('a damaged packed block is reported, quarantined with its bytes, and can be stored again', async () => {
    const [good, bad] = blocks(2)
    await store.put(good!.cid, good!.data, { packed: true })
    await store.put(bad!.cid, bad!.data, { packed: true })
    const at = (await store.packs.locate(bad!.cid))!
    const path = store.packs.pathOf(at.pack)
    const bytes = await readFile(path)
    bytes[at.offset + 100]! ^= 0xff
    await writeFile(path, bytes)
    const damaged: string[] = []
    expect(await store.get(bad!.cid, cid => damaged.push(cid.toString()))).toBeUndefined()
    expect(damaged).toEqual([bad!.cid.toString()])
    expect(await store.check(bad!.cid)).toBe('damaged')
    expect(await store.check(good!.cid)).toBe('ok')
    await store.quarantine(bad!.cid)
    expect(await store.has(bad!.cid)).toBe(false)
    const kept = await readdir(join(dir, 'blocks', 'damaged'))
    expect(kept.length).toBe(1)
    expect(kept[0]!.startsWith(bad!.cid.toString())).toBe(true)
    expect((await readFile(join(dir, 'blocks', 'damaged', kept[0]!))).length).toBe(BLOCK_BYTES)
    expect(await store.put(bad!.cid, bad!.data, { packed: true })).toBe(true)
    expect(await store.check(bad!.cid)).toBe('ok')
  })

  it('compaction rewrites what is left of mostly dead packs, frees their space, and reads go on meanwhile', async () => {
    const all = blocks(48)
    for (const b of all) await store.put(b.cid, b.data, { packed: true })
    const kept = all.filter((_, i) => i % 6 === 0)
    for (const b of all) if (!kept.includes(b)) await store.delete(b.cid)
    const bytesBefore = await packBytes()
    const packsBefore = await packs()
    // one kept block damaged on disk: left out, kept aside
    const victim = kept[1]!
    const at = (await store.packs.locate(victim.cid))!
    const bytes = await readFile(store.packs.pathOf(at.pack))
    bytes[at.offset]! ^= 0xff
    await writeFile(store.packs.pathOf(at.pack), bytes)
    const healthy = kept.filter(b => b !== victim)

    let reading = true
    let reads = 0
    const reader = (async () => {
      while (reading) {
        for (const b of healthy) {
          const got = await store.get(b.cid)
          expect(got === undefined ? 'missing' : Buffer.from(got).equals(Buffer.from(b.data))).toBe(true)
          reads++
        }
      }
    })()
    const report = await store.compact()
    reading = false
    await reader
    expect(reads).toBeGreaterThan(0)
    expect(report.packs).toBeGreaterThan(0)
    // every pack written before was mostly dead or not full: all are gone
    const packsAfter = await packs()
    for (const p of packsBefore.slice(0, -1)) expect(packsAfter).not.toContain(p)
    expect(await packBytes()).toBeLessThan(bytesBefore / 3)
    for (const b of healthy) expect(Buffer.from((await store.get(b.cid))!).equals(Buffer.from(b.data))).toBe(true)
    expect(await store.has(victim.cid)).toBe(false)
    expect((await readdir(join(dir, 'blocks', 'damaged'))).length).toBe(1)
    for (const b of all.filter(b => !kept.includes(b))) expect(await store.has(b.cid)).toBe(false)
    await reopen()
    for (const b of healthy) expect(Buffer.from((await store.get(b.cid))!).equals(Buffer.from(b.data))).toBe(true)
  })

  it('compactions while blocks arrive (packs filling up and changing) never lose an acknowledged block', async () => {
    const all = blocks(160)
    const done: Block[] = []
    let uploading = true
    const compactions = (async () => {
      let runs = 0
      while (uploading || runs < 2) {
        await store.compact()
        runs++
        await new Promise(resolve => setImmediate(resolve))
      }
      return runs
    })()
    let next = 0
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < all.length) {
        const b = all[next++]!
        await store.put(b.cid, b.data, { packed: true })
        done.push(b)
        // some die young: dead bytes for the compactions to find
        if (next % 3 === 0) await store.delete(done.shift()!.cid)
      }
    }))
    uploading = false
    expect(await compactions).toBeGreaterThan(2)
    const check = async (): Promise<void> => {
      for (const b of done) {
        const got = await store.get(b.cid)
        expect(got === undefined ? `lost ${b.cid.toString()}` : Buffer.from(got).equals(Buffer.from(b.data))).toBe(true)
      }
    }
    await check()
    await reopen()
    await check()
  })

  it('touching a packed block refreshes its time; a plaintext block still gets a file of its own', async () => {
    const [packed, plain] = blocks(2)
    await store.put(packed!.cid, packed!.data, { packed: true })
    await store.put(plain!.cid, plain!.data)
    expect(await store.touch(packed!.cid, 1_000)).toBe(true)
    expect(await store.touch(blocks(1)[0]!.cid, 1_000)).toBe(false)
    const listed = new Map<string, number>()
    for await (const b of store.list()) listed.set(b.cid.toString(), b.mtimeMs)
    expect(listed.get(packed!.cid.toString())).toBe(1_000)
    expect(listed.has(plain!.cid.toString())).toBe(true)
    expect((await stat(store.pathOf(plain!.cid))).size).toBe(BLOCK_BYTES)
    await store.delete(plain!.cid)
    await expect(stat(store.pathOf(plain!.cid))).rejects.toThrow()
  })
})
