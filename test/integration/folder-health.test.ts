import { describe, it, expect, afterEach } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Lab, ferryOk, sameTree, status, treeOf, waitConverged, waitFor, type Device } from '../helpers/ferry-process.ts'
import { EventTail } from '../helpers/event-tail.ts'
import { waitForEvent } from '../helpers/wait-for-event.ts'

// full rescans every 1.5 s (the daemons read it at start): on main a lost root was emptied on
// every device at the next rescan
process.env.FERRY_RESCAN_INTERVAL_MS = '1500'

const folderOf = async (d: Device, id = 'docs') => (await status(d)).folders.find(f => f.id === id)!

async function writeFiles (root: string, n: number): Promise<void> {
  await mkdir(join(root, 'sub'), { recursive: true })
  for (let i = 0; i < n; i++) await writeFile(join(root, i % 2 === 0 ? 'sub' : '', `f${String(i).padStart(3, '0')}.txt`), `file ${i}\n`)
}

/**
 * After `a` stopped: b has heard everything a has (b in sync with it, so a tombstone a had
 * committed would be applied by now), still holds `tree`, and reported no delete.
 */
async function expectNothingDeleted (a: Device, b: Device, tree: Map<string, string>, files: number, bEvents: EventTail): Promise<void> {
  expect((await folderOf(a)).localFiles).toBe(files) // no tombstone recorded on a
  await waitFor('b in sync with a', async () => (await folderOf(b)).inSync, 60_000)
  expect(sameTree(await treeOf(b.folder), tree)).toBe(true)
  expect(bEvents.events.filter(e => e.type === 'file.deleted')).toEqual([])
}

describe('folder health: a folder whose disk goes away stops instead of deleting', () => {
  let lab: Lab
  let tail: EventTail | undefined
  afterEach(async () => { await tail?.stop(); tail = undefined; await lab.cleanup() })

  it('rm -rf of the root while running: stopped, nothing deleted anywhere, resumes when the root is back', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await writeFiles(a.folder, 30)
    await Promise.all([lab.start(a), lab.start(b)])
    const tree = await waitConverged([a, b])
    expect(tree.size).toBe(31)
    tail = await new EventTail(b.home).ready()
    const aEvents = await new EventTail(a.home).ready()
    try {
      const backup = join(dirname(a.folder), 'backup')
      await cp(a.folder, backup, { recursive: true })

      await rm(a.folder, { recursive: true, force: true })
      await aEvents.next('a stops', e => e.type === 'folder.stopped')
      // a check in the middle of the rm -rf may find the root there but its marker gone (a stop
      // too); the next poll tells the root is missing
      await waitFor('a reports the root missing', async () => (await folderOf(a)).stopped?.code === 'ERR_FERRY_ROOT_MISSING', 30_000)
      const stopped = (await folderOf(a)).stopped
      expect(stopped?.reason).toContain(`folder root ${a.folder} is missing`)
      expect(await ferryOk(['--home', a.home, 'status'])).toContain(`docs ${a.folder}: STOPPED`)
      expect(a.log).toContain('docs: STOPPED: folder root')
      // several full-rescan periods pass while stopped: a still polls (its status answers) and
      // creates nothing
      await waitFor('two rescan periods after the stop', async () => Date.now() - (await folderOf(a)).stopped!.since > 3_500, 30_000)
      expect(existsSync(a.folder)).toBe(false)
      await expectNothingDeleted(a, b, tree, 30, tail)

      // the root is back: a resumes by itself, watches the new root, and syncs again
      await rename(backup, a.folder)
      await aEvents.next('a resumes', e => e.type === 'folder.resumed')
      await waitFor('a no longer stopped', async () => (await folderOf(a)).stopped === undefined)
      await writeFile(join(a.folder, 'after.txt'), 'written after the resume')
      const after = await waitConverged([a, b])
      expect(after.size).toBe(32)
      expect(tail.events.filter(e => e.type === 'file.deleted')).toEqual([])
    } finally {
      await aEvents.stop()
    }
  })

  it('a stopped daemon whose root was moved away does not create it at start; it resumes when moved back', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await writeFiles(a.folder, 12)
    await Promise.all([lab.start(a), lab.start(b)])
    const tree = await waitConverged([a, b])
    tail = await new EventTail(b.home).ready()

    await lab.stop(a)
    const away = join(dirname(a.folder), 'away')
    await rename(a.folder, away)
    await lab.start(a)
    await waitForEvent(a, 'folder.stopped', e => e.code === 'ERR_FERRY_ROOT_MISSING')
    expect((await folderOf(a)).stopped?.code).toBe('ERR_FERRY_ROOT_MISSING')
    expect(existsSync(a.folder)).toBe(false)
    await expectNothingDeleted(a, b, tree, 12, tail)
    // a root that is a file: still stopped, nothing created
    await writeFile(a.folder, 'not a directory')
    await waitFor('a says its root is not a directory', async () => (await folderOf(a)).stopped?.code === 'ERR_FERRY_ROOT_NOT_DIR')
    // an empty directory in its place (no marker): still stopped
    await rm(a.folder)
    await mkdir(a.folder)
    await waitFor('a says the marker is missing', async () => (await folderOf(a)).stopped?.code === 'ERR_FERRY_MARKER_MISSING')
    await expectNothingDeleted(a, b, tree, 12, tail)

    await rm(a.folder, { recursive: true })
    await rename(away, a.folder)
    await waitForEvent(a, 'folder.resumed')
    expect((await folderOf(a)).stopped).toBeUndefined()
    expect(sameTree(await waitConverged([a, b]), tree)).toBe(true)
    expect(tail.events.filter(e => e.type === 'file.deleted')).toEqual([])
  })

  it.skipIf(process.getuid?.() !== 0)('a folder on a file system that is unmounted stops; nothing is deleted', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a', 'a-own')
    const b = await lab.device('b')
    const mnt = await mkdtemp(join(tmpdir(), `ferry-mnt-${process.pid}-`))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', `ferry-test-${process.pid}`, mnt])
    let mounted = true
    try {
      // the folder is the mount point itself: after the unmount, an empty directory is left
      await ferryOk(['--home', a.home, 'folder', 'add', mnt, '--id', 'docs'])
      await lab.pair(a, b)
      await writeFiles(mnt, 16)
      await Promise.all([lab.start(a), lab.start(b)])
      await waitFor('b has every file', async () => (await treeOf(b.folder)).size === 17, 60_000)
      await waitFor('both in sync', async () => (await folderOf(a)).inSync && (await folderOf(b)).inSync, 60_000)
      const tree = await treeOf(b.folder)
      expect(sameTree(tree, await treeOf(mnt))).toBe(true)
      tail = await new EventTail(b.home).ready()

      execFileSync('umount', ['-l', mnt])
      mounted = false
      await waitFor('a stopped', async () => (await folderOf(a)).stopped !== undefined, 30_000)
      expect(['ERR_FERRY_OTHER_FILESYSTEM', 'ERR_FERRY_MARKER_MISSING']).toContain((await folderOf(a)).stopped!.code)
      // rescans (every 1.5 s) pass while stopped
      await waitFor('two rescan periods after the stop', async () => Date.now() - (await folderOf(a)).stopped!.since > 3_500, 30_000)
      await expectNothingDeleted({ ...a, folder: mnt }, b, tree, 16, tail)
      expect(await readdir(mnt)).toEqual([]) // nothing written into the mount point either
    } finally {
      if (mounted) execFileSync('umount', ['-l', mnt])
      await rm(mnt, { recursive: true, force: true })
    }
  })
})
