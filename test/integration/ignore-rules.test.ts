import { describe, it, expect, afterEach } from 'vitest'
import { mkdir, writeFile, readFile, readdir, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Lab, status, waitConverged, waitFor, waitInSync, type Device } from '../helpers/ferry-process.ts'

const has = (d: Device, p: string): boolean => existsSync(join(d.folder, p))
const inSync = async (d: Device): Promise<boolean> => (await status(d)).folders[0]!.inSync

describe('.ferryignore', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('keeps ignored files on their device, and applies changed rules without deleting anything elsewhere', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await writeFile(join(a.folder, '.ferryignore'), '# build output\n*.log\nbuild/\n')
    await writeFile(join(a.folder, 'a.log'), 'log of a')
    await mkdir(join(a.folder, 'build/sub'), { recursive: true })
    await writeFile(join(a.folder, 'build/sub/out.bin'), 'binary')
    await writeFile(join(a.folder, 'keep.txt'), 'kept')
    await lab.pair(a, b)
    await Promise.all([lab.start(a), lab.start(b)])

    await waitFor('b has keep.txt and the rules', () => has(b, 'keep.txt') && has(b, '.ferryignore'))
    await waitInSync([a, b])
    expect(has(b, 'a.log')).toBe(false)
    expect(has(b, 'build')).toBe(false)

    // seen by the watcher while running
    await writeFile(join(a.folder, 'later.log'), 'another log')
    await writeFile(join(a.folder, 'build/more.bin'), 'more')
    await writeFile(join(a.folder, 'marker1.txt'), '1')
    await waitFor('b has marker1', () => has(b, 'marker1.txt'))
    await waitInSync([a, b])
    expect(has(b, 'later.log')).toBe(false)
    expect(has(b, 'build')).toBe(false)

    // new rules: logs are synced now, keep.txt is ignored from now on
    await writeFile(join(a.folder, '.ferryignore'), 'build/\nkeep.txt\n')
    await waitFor('the logs reach b', () => has(b, 'a.log') && has(b, 'later.log'))
    expect(await readFile(join(b.folder, 'later.log'), 'utf8')).toBe('another log')
    await waitInSync([a, b])
    expect(await readFile(join(b.folder, '.ferryignore'), 'utf8')).toBe('build/\nkeep.txt\n')

    // a newly ignored file is no longer tracked: deleting or changing it on a touches nothing on b
    await rm(join(a.folder, 'keep.txt'))
    await writeFile(join(a.folder, 'marker2.txt'), '2')
    await waitFor('b has marker2', () => has(b, 'marker2.txt'))
    await waitInSync([a, b])
    expect(await readFile(join(b.folder, 'keep.txt'), 'utf8')).toBe('kept')
    expect(has(b, 'build')).toBe(false)
  })

  it('never applies a peer\'s version of a path this device ignores, and keeps both once it is no longer ignored', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await writeFile(join(a.folder, 'secret.txt'), 'from a')
    await writeFile(join(a.folder, 'shared.txt'), 'shared')
    await writeFile(join(b.folder, '.ferryignore'), 'secret.txt\n')
    await writeFile(join(b.folder, 'secret.txt'), 'from b')
    await lab.pair(a, b)
    await lab.start(a)
    await waitFor('a has recorded its files', async () => (await status(a)).folders[0]!.localFiles === 2)
    await lab.start(b)

    await waitFor('both hold everything the other sends', async () => has(a, '.ferryignore') && has(b, 'shared.txt') && await inSync(a) && await inSync(b))
    // b ignores a's secret.txt: its own stays; a, ignoring it since the rules arrived, keeps its own too
    expect(await readFile(join(b.folder, 'secret.txt'), 'utf8')).toBe('from b')
    expect(await readFile(join(a.folder, 'secret.txt'), 'utf8')).toBe('from a')
    for (const d of [a, b]) expect((await readdir(d.folder)).filter(n => n.includes('sync-conflict'))).toEqual([])

    // no rules any more: the two versions meet as concurrent edits, and both are kept everywhere
    await writeFile(join(b.folder, '.ferryignore'), '')
    const tree = await waitConverged([a, b])
    const copies = [...tree.keys()].filter(p => p.startsWith('secret.sync-conflict-'))
    expect(copies).toHaveLength(1)
    const contents = [await readFile(join(a.folder, 'secret.txt'), 'utf8'), await readFile(join(a.folder, copies[0]!), 'utf8')]
    expect(contents.sort()).toEqual(['from a', 'from b'])
  })
})
