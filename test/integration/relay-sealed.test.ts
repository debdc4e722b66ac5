import { signMemberList } from '../../src/access/member-list.ts'
import { describe, it, expect } from 'vitest'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ferry, status, treeOf, sameTree, waitFor, type Device } from '../helpers/ferry-process.ts'
import { useRelay, useRelayLabs, waitUploaded, type Relay } from '../helpers/relay-process.ts'
import { RelayStore } from '../../relay/store/relay-store.ts'
import { collectGarbage } from '../../relay/store/garbage-collector.ts'
import { loadDeviceKey } from '../../src/identity/device-key.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { signRecord } from '../../src/log/signed-record.ts'

/** every file under `root` (the relay's whole home, LevelDB files included) */
async function allFiles (root: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name))
  return out
}

/** the files under `root` whose raw bytes contain any of `needles` */
async function filesContaining (root: string, needles: readonly string[]): Promise<string[]> {
  const hits: string[] = []
  for (const f of await allFiles(root)) {
    const bytes = await readFile(f).catch(() => undefined)
    if (bytes === undefined) continue
    for (const n of needles) if (bytes.includes(Buffer.from(n))) hits.push(`${f} has ${n}`)
  }
  return hits
}

async function waitTree (d: Device, expected: Map<string, string>): Promise<void> {
  let last = ''
  await waitFor(`${d.name} has the expected tree`, async () => {
    const f = (await status(d)).folders[0]!
    last = JSON.stringify(f)
    return f.inSync && sameTree(await treeOf(d.folder), expected)
  }, 120_000).catch(err => { throw new Error(`${(err as Error).message}: ${last}\n--- log\n${d.log.slice(-3000)}`) })
}

describe('the relay stores and sees only ciphertext', () => {
  const env = useRelayLabs()

  it('names and contents pass through a relay (devices never online together) and appear in none of its files, before and after verify and GC', async () => {
    const { lab, relays } = env
    const r: Relay = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await useRelay(a, r)
    await useRelay(b, r)

    const tag = randomBytes(6).toString('hex')
    const name = `zebra-secret-${tag}`
    const content = `PLAINTEXT-MARKER-${tag}`
    await mkdir(join(a.folder, `dir-${name}`))
    await writeFile(join(a.folder, `dir-${name}`, `${name}.txt`), `${content}\n`.repeat(2000))
    await writeFile(join(a.folder, 'small.txt'), content)
    // a big file: its marker sits in many blocks
    await writeFile(join(a.folder, 'big.bin'), Buffer.concat(Array.from({ length: 64 }, () => Buffer.concat([randomBytes(64 * 1024), Buffer.from(content)]))))
    await lab.start(a)
    await waitUploaded(a)
    const treeA = await treeOf(a.folder)
    await lab.stop(a)

    // B alone, with the relay: the files come from the relay's ciphertext
    await lab.start(b)
    await waitTree(b, treeA)
    expect((await status(b)).receivedBytes[a.id] ?? 0).toBe(0)

    const needles = [name, content]
    expect(await filesContaining(r.home, needles)).toEqual([])
    const verified = await ferry(['--home', r.home, 'relay', 'verify', '--json'])
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, missingBlocks: 0 })
    expect(await filesContaining(r.home, needles)).toEqual([])

    // B edits the file: A, back alone, gets the edit; the old version goes to the relay's history
    await waitUploaded(b)
    const before = (await status(b)).folders[0]!.stateHash
    await writeFile(join(b.folder, `dir-${name}`, `${name}.txt`), `${content}-edited\n`.repeat(1000))
    await waitUploaded(b, before)
    const treeB = await treeOf(b.folder)
    await lab.stop(b)
    await lab.start(a)
    await waitTree(a, treeB)
    await lab.stop(a)

    // garbage collection on the stopped relay, with nothing young or retained: still ciphertext only
    await relays.stop(r)
    const store = new RelayStore({ home: r.home, self: r.id })
    await store.open()
    const gc = await collectGarbage(store, { retentionMs: 0, graceMs: 0 })
    await store.close()
    expect(gc.expiredRecords).toBeGreaterThan(0)
    expect(await filesContaining(r.home, needles)).toEqual([])
  })

  it('a relay holding a folder in plaintext (uploaded by an older ferry) ends holding only ciphertext once the device upgrades', async () => {
    const { lab, relays } = env
    const r: Relay = await relays.relay('relay')
    const a = await lab.device('a')
    await useRelay(a, r)
    const tag = randomBytes(6).toString('hex')
    const name = `old-plain-${tag}`
    const content = `OLD-PLAINTEXT-${tag}`
    await writeFile(join(a.folder, `${name}.txt`), content.repeat(100))

    // what an older ferry's replica/2 upload left on the relay: A's signed plaintext record and block
    await relays.stop(r)
    const key = await loadDeviceKey(a.home)
    const data = Buffer.from(content.repeat(100))
    const cid = blockCid(data)
    const before = new RelayStore({ home: r.home, self: r.id })
    await before.open()
    await before.putMemberList(await signMemberList({ folder: 'docs', version: 1, members: { [a.id]: 'write' } }, key, a.id), a.id)
    await before.putBlock('docs', a.id, cid, data)
    await before.putRecords('docs', [await signRecord({ folder: 'docs', device: a.id, seq: 1, path: `${name}.txt`, type: 'file', size: data.byteLength, mode: 0o644, mtimeMs: Date.now(), deleted: false, modifiedBy: a.id, version: { [a.id]: 1 }, blocks: [{ cid, size: data.byteLength }] }, key)])
    await before.close()
    expect((await filesContaining(r.home, [name, content])).length).toBeGreaterThan(0)

    // the upgraded device uploads sealed: the relay drops the plaintext and holds the folder sealed
    await relays.start(r)
    await lab.start(a)
    let hits: string[] = []
    await waitFor('the relay holds no plaintext', async () => {
      const f = (await status(a)).folders[0]!
      hits = await filesContaining(r.home, [name, content])
      return f.replicaInSync === true && hits.length === 0
    }, 120_000).catch(err => { throw new Error(`${(err as Error).message}: ${hits.join('\n')}\n${r.log.slice(-2000)}`) })
    expect(r.log).toContain('now sealed')
    const verified = await ferry(['--home', r.home, 'relay', 'verify', '--json'])
    expect(verified.code, verified.stdout).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, records: 1, missingBlocks: 0 })
  })
})
