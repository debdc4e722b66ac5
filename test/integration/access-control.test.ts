import { describe, it, expect, afterEach } from 'vitest'
import { writeFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferryOk, status, waitConverged, waitFor } from '../helpers/ferry-process.ts'

const settle = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('only trusted devices connect, only members get a folder', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('an untrusted device gets no connection and no data', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    const mallory = await lab.device('mallory')
    await lab.pair(a, b)
    // mallory trusts a and shares the folder id with it; a never heard of mallory
    await ferryOk(['--home', mallory.home, 'device', 'add', a.id, '--addr', a.addr])
    await ferryOk(['--home', mallory.home, 'share', 'docs', a.id])
    await writeFile(join(a.folder, 'secret.txt'), 'for b only')
    await Promise.all([lab.start(a), lab.start(b), lab.start(mallory)])
    await waitConverged([a, b])
    await settle(4_000) // more than one dial round of mallory's
    expect((await status(mallory)).peers.every(p => !p.connected)).toBe(true)
    expect((await status(a)).peers.map(p => p.id)).not.toContain(mallory.id)
    expect(a.log).not.toContain(mallory.id)
    expect(await readdir(mallory.folder)).toEqual(['.ferry'])
  })

  it('a trusted device that is not a member of a folder gets none of its records or blocks', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const c = await lab.device('c')
    // mutual trust, but a shares nothing with c; c shares 'docs' with a
    await ferryOk(['--home', a.home, 'device', 'add', c.id, '--addr', c.addr])
    await ferryOk(['--home', c.home, 'device', 'add', a.id, '--addr', a.addr])
    await ferryOk(['--home', c.home, 'share', 'docs', a.id])
    await writeFile(join(a.folder, 'private.txt'), 'not for c')
    await writeFile(join(c.folder, 'offered.txt'), 'c offers this')
    await Promise.all([lab.start(a), lab.start(c)])
    await waitFor('connected', async () => (await status(c)).peers.some(p => p.connected))
    await settle(3_000)
    expect(await readdir(c.folder)).not.toContain('private.txt')
    // and a does not take c's records either: c is not a member on a's side
    expect(await readdir(a.folder)).not.toContain('offered.txt')
  })

  it('a folder shared later starts syncing without a restart', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--addr', b.addr])
    await ferryOk(['--home', b.home, 'device', 'add', a.id, '--addr', a.addr])
    await writeFile(join(a.folder, 'later.txt'), 'shared later')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitFor('connected', async () => (await status(a)).peers.some(p => p.connected))
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await ferryOk(['--home', b.home, 'share', 'docs', a.id])
    await waitConverged([a, b])
    expect(await readdir(b.folder)).toContain('later.txt')
  })
})
