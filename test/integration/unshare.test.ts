import { describe, it, expect, afterEach } from 'vitest'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Lab, ferry, ferryOk, sameTree, status, treeOf, waitFor, type Device } from '../helpers/ferry-process.ts'
import { expectNoEvent } from '../helpers/wait-for-event.ts'

async function waitSameTree (from: string, to: string): Promise<void> {
  await waitFor(`${to} to equal ${from}`, async () => sameTree(await treeOf(from), await treeOf(to)), 60_000)
}

async function joinAndStart (lab: Lab, inviter: Device, d: Device): Promise<string> {
  const code = (await ferryOk(['--home', inviter.home, 'invite', 'docs'])).split('\n')[0]!
  const path = join(dirname(d.folder), 'shared')
  await ferryOk(['--home', d.home, 'join', code, path])
  await lab.start(d)
  return path
}

describe('unshare', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('after unshare, new files on A never reach C while B still gets them, and C\'s changes are not taken', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b', 'b-own')
    const c = await lab.device('c', 'c-own')
    await writeFile(join(a.folder, 'before.txt'), 'everyone gets this')
    await lab.start(a)
    const bDocs = await joinAndStart(lab, a, b)
    const cDocs = await joinAndStart(lab, a, c)
    await waitSameTree(a.folder, bDocs)
    await waitSameTree(a.folder, cDocs)

    // errors first: unknown folder, a device that is not a member
    expect((await ferry(['--home', a.home, 'unshare', 'nope', c.id])).stderr).toMatch(/^ferry: no folder nope/)
    expect((await ferry(['--home', a.home, 'unshare', 'docs', a.id])).stderr).toMatch(/is not a member of folder docs/)

    const r = await ferryOk(['--home', a.home, 'unshare', 'docs', c.id])
    expect(r).toContain(`folder docs no longer shared with ${c.id}`)
    expect(JSON.parse(await readFile(join(a.home, 'config.json'), 'utf8')).folders.docs.members).toEqual({ [b.id]: 'read-write' })

    await writeFile(join(a.folder, 'after.txt'), 'not for c')
    await writeFile(join(cDocs, 'from-c.txt'), 'c is no longer a member')
    await waitSameTree(a.folder, bDocs)
    expect(await readdir(bDocs)).toContain('after.txt')
    // give c every chance: several dial and resubscribe rounds, during which c records no after.txt
    await expectNoEvent(c, 'file.added', e => e.path === 'after.txt', 8_000)
    expect(await readdir(cDocs)).not.toContain('after.txt')
    expect(await readdir(a.folder)).not.toContain('from-c.txt')
    expect(await readdir(bDocs)).not.toContain('from-c.txt')
    // a and c are still trusted devices (c may share other folders); only the folder is gone
    await waitFor('c reconnected to a', async () => (await status(a)).peers.some(p => p.id === c.id && p.connected))
    await expectNoEvent(c, 'file.added', e => e.path === 'after.txt', 4_000)
    expect(await readdir(cDocs)).not.toContain('after.txt')
  })
})
