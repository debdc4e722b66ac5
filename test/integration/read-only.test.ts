import { describe, it, expect, afterEach } from 'vitest'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Lab, ferry, ferryOk, sameTree, status, treeOf, waitFor, type Device } from '../helpers/ferry-process.ts'

async function waitSameTree (from: string, to: string): Promise<void> {
  await waitFor(`${to} to equal ${from}`, async () => sameTree(await treeOf(from), await treeOf(to)), 60_000)
}

const docs = async (d: Device) => (await status(d)).folders.find(f => f.id === 'docs')!

describe('read-only members', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('a read-only member\'s edits are flagged locally, not taken by others, and ferry revert restores the shared content', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b', 'b-own')
    await writeFile(join(a.folder, 'keep.txt'), 'shared content')
    await writeFile(join(a.folder, 'other.txt'), 'shared too')
    await mkdir(join(a.folder, 'sub'))
    await writeFile(join(a.folder, 'sub', 'deep.txt'), 'deep')
    await lab.start(a)
    const code = (await ferryOk(['--home', a.home, 'invite', 'docs', '--read-only'])).split('\n')[0]!
    const bDocs = join(dirname(b.folder), 'shared')
    await ferryOk(['--home', b.home, 'join', code, bDocs])
    await lab.start(b)
    await waitSameTree(a.folder, bDocs)
    const shared = await treeOf(a.folder)
    expect(await docs(b)).toMatchObject({ role: 'read-only', localChanges: 0 })

    // b edits, adds (a file and a directory tree) and deletes
    await writeFile(join(bDocs, 'keep.txt'), 'b overwrote this')
    await writeFile(join(bDocs, 'new.txt'), 'only on b')
    await mkdir(join(bDocs, 'newdir'))
    await writeFile(join(bDocs, 'newdir', 'n.txt'), 'only on b, deeper')
    await rm(join(bDocs, 'other.txt'))
    const expected = ['keep.txt', 'new.txt', 'newdir', 'newdir/n.txt', 'other.txt']
    await waitFor('b flags its local changes', async () => JSON.stringify((await docs(b)).localChangedPaths) === JSON.stringify(expected))
    expect((await docs(b)).localChanges).toBe(5)
    expect((await ferryOk(['--home', b.home, 'status'])).includes('read-only: 5 local changes not accepted by others (`ferry revert docs` discards them)')).toBe(true)

    // a has heard all b has (b said synced to it) and kept its own content
    await waitFor('a in sync with b', async () => (await docs(a)).inSync)
    expect(sameTree(await treeOf(a.folder), shared)).toBe(true)

    // revert: only for read-only folders that exist
    const notRo = await ferry(['--home', a.home, 'revert', 'docs'])
    expect(notRo.code).toBe(1)
    expect(notRo.stderr).toMatch(/^ferry: this device is not read-only in folder docs/)
    expect((await ferry(['--home', b.home, 'revert', 'nope'])).stderr).toMatch(/^ferry: no folder nope/)

    const r = await ferry(['--home', b.home, 'revert', 'docs', '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ folder: 'docs', failed: [] })
    expect([...JSON.parse(r.stdout).reverted].sort()).toEqual(expected)
    expect(sameTree(await treeOf(bDocs), shared)).toBe(true)
    await waitFor('no local changes left', async () => (await docs(b)).localChanges === 0 && (await docs(b)).inSync)
    expect(sameTree(await treeOf(bDocs), shared)).toBe(true)

    // and sync goes on: a's next change reaches b
    await writeFile(join(a.folder, 'later.txt'), 'after the revert')
    await waitSameTree(a.folder, bDocs)
    expect((await ferryOk(['--home', b.home, 'revert', 'docs']))).toContain('docs: no local changes')
  })
})
