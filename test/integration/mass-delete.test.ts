import { describe, it, expect, afterEach } from 'vitest'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferry, ferryOk, sameTree, status, treeOf, waitConverged, waitFor, type Device } from '../helpers/ferry-process.ts'
import { EventTail } from '../helpers/event-tail.ts'
import { waitForEvent } from '../helpers/wait-for-event.ts'

const folderOf = async (d: Device) => (await status(d)).folders.find(f => f.id === 'docs')!
const name = (i: number): string => `f${String(i).padStart(3, '0')}.txt`

async function setup (lab: Lab): Promise<{ a: Device, b: Device, tree: Map<string, string> }> {
  await lab.setup()
  const a = await lab.device('a')
  const b = await lab.device('b')
  await lab.pair(a, b)
  for (let i = 0; i < 100; i++) await writeFile(join(a.folder, name(i)), `content of file ${i}\n`)
  await Promise.all([lab.start(a), lab.start(b)])
  const tree = await waitConverged([a, b])
  expect(tree.size).toBe(100)
  return { a, b, tree }
}

async function deleteNinety (a: Device): Promise<void> {
  for (let i = 10; i < 100; i++) await rm(join(a.folder, name(i)))
}

/** a holds the 90 deletes; b has heard all a has and still holds every file */
async function expectHeld (a: Device, b: Device, tree: Map<string, string>, bEvents: EventTail): Promise<void> {
  await waitForEvent(a, 'deletes.held', e => e.count === 90, 60_000)
  expect((await folderOf(a)).heldDeletes?.count).toBe(90)
  const held = (await folderOf(a)).heldDeletes!
  expect(held.paths).toEqual(Array.from({ length: 20 }, (_, i) => name(i + 10)))
  expect(held.reason).toBe('90 of 100 files deleted at once')
  expect((await folderOf(a)).localFiles).toBe(100)
  expect((await folderOf(a)).inSync).toBe(false)
  await waitFor('b in sync with a', async () => (await folderOf(b)).inSync, 60_000)
  expect(sameTree(await treeOf(b.folder), tree)).toBe(true)
  expect(bEvents.events.filter(e => e.type === 'file.deleted')).toEqual([])
  expect(await ferryOk(['--home', a.home, 'status'])).toContain('holding 90 deletes (90 of 100 files deleted at once): `ferry folder confirm-deletes docs` records them')
}

describe('mass-delete protection', () => {
  let lab: Lab
  let tails: EventTail[] = []
  afterEach(async () => {
    for (const t of tails) await t.stop()
    tails = []
    await lab.cleanup()
  })

  it('holds 90 of 100 deletes until `ferry folder confirm-deletes`', async () => {
    lab = new Lab()
    const { a, b, tree } = await setup(lab)
    const bEvents = await new EventTail(b.home).ready()
    const aEvents = await new EventTail(a.home).ready()
    tails.push(bEvents, aEvents)
    // nothing to confirm yet
    const none = await ferry(['--home', a.home, 'folder', 'confirm-deletes', 'docs'])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/^ferry: no deletes are held in folder docs/)

    await deleteNinety(a)
    await expectHeld(a, b, tree, bEvents)
    const heldEvent = await aEvents.next('deletes.held', e => e.type === 'deletes.held')
    expect(heldEvent).toMatchObject({ folder: 'docs', count: 90 })

    const r = JSON.parse(await ferryOk(['--home', a.home, 'folder', 'confirm-deletes', 'docs', '--json']))
    expect(r).toEqual({ folder: 'docs', confirmed: 90 })
    await aEvents.next('deletes.confirmed', e => e.type === 'deletes.confirmed' && e.count === 90)
    const after = await waitConverged([a, b])
    expect([...after.keys()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => name(i)))
    expect((await folderOf(a)).heldDeletes).toBeUndefined()
    // a small delete afterwards is not held
    await rm(join(a.folder, name(0)))
    await waitFor('b applies a single delete', async () => (await treeOf(b.folder)).size === 9, 60_000)
  })

  it('keeps them held across a restart, and `ferry revert` brings the files back', async () => {
    lab = new Lab()
    const { a, b, tree } = await setup(lab)
    const bEvents = await new EventTail(b.home).ready()
    tails.push(bEvents)
    await deleteNinety(a)
    await expectHeld(a, b, tree, bEvents)

    // held state is in memory: a restart finds the files missing again and holds them again
    await lab.stop(a)
    await lab.start(a)
    await expectHeld(a, b, tree, bEvents)

    const r = JSON.parse(await ferryOk(['--home', a.home, 'revert', 'docs', '--json']))
    expect(r.folder).toBe('docs')
    expect(r.failed).toEqual([])
    expect(r.reverted.length).toBe(90)
    expect(sameTree(await treeOf(a.folder), tree)).toBe(true)
    expect(sameTree(await waitConverged([a, b]), tree)).toBe(true)
    expect((await folderOf(a)).heldDeletes).toBeUndefined()
    expect(bEvents.events.filter(e => e.type === 'file.deleted')).toEqual([])
  })
})
