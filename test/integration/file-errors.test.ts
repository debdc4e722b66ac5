import { describe, it, expect, afterEach } from 'vitest'
import { execFileSync } from 'node:child_process'
import { chmod, mkdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferry, status, tempFiles, treeOf, waitConverged, waitFor, writeRandomFile, type Device } from '../helpers/ferry-process.ts'
import { EventTail } from '../helpers/event-tail.ts'
import { waitForEvent } from '../helpers/wait-for-event.ts'
import type { FolderStatus } from '../../src/sync/folder-sync.ts'

const MiB = 1024 * 1024
const errorsOf = async (d: Device): Promise<FolderStatus['errors']> => (await status(d)).folders[0]!.errors
const exists = async (path: string): Promise<boolean> => await stat(path).then(() => true, () => false)

/**
 * Root reads a chmod-000 file all the same: as root, the daemons run as `nobody` (setpriv) in a
 * lab that is theirs, so that the file really cannot be read.
 */
const AS_ROOT = process.getuid?.() === 0
const NOBODY = 65534

describe('per-path errors never stop a folder, and they are visible', () => {
  let lab: Lab
  let tail: EventTail | undefined
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    await tail?.stop()
    tail = undefined
    for (const c of cleanups.splice(0)) await c()
    await lab.cleanup()
  })

  it('an unreadable file is reported, not deleted elsewhere, and the rest of the folder syncs', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await mkdir(a.folder, { recursive: true })
    await writeFile(join(a.folder, 'keep.txt'), 'keep')
    await writeFile(join(a.folder, 'secret.txt'), 'secret v1')
    if (AS_ROOT) execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, lab.dir])
    const as = AS_ROOT ? { uid: NOBODY } : {}
    await Promise.all([lab.start(a, as), lab.start(b, as)])
    await waitConverged([a, b])
    tail = await new EventTail(a.home).ready()

    // a new version of secret.txt that cannot be read (renamed in whole: never readable in place),
    // a new file that cannot be read, and a readable one
    await writeFile(join(lab.dir, 'v2'), 'secret v2')
    await chmod(join(lab.dir, 'v2'), 0o000)
    await rename(join(lab.dir, 'v2'), join(a.folder, 'secret.txt'))
    await writeFile(join(a.folder, 'locked-new.txt'), 'locked')
    await chmod(join(a.folder, 'locked-new.txt'), 0o000)
    await writeFile(join(a.folder, 'after.txt'), 'the rest syncs')

    await waitFor('after.txt on b', async () => await exists(join(b.folder, 'after.txt')), 60_000)
    // both unreadable files reported on a
    for (const path of ['secret.txt', 'locked-new.txt']) await waitForEvent(a, 'file.error', e => e.path === path, 60_000)
    const errors = await errorsOf(a)
    expect(errors.map(e => e.path).sort()).toEqual(['locked-new.txt', 'secret.txt'])
    for (const e of errors) {
      expect(e.code).toBe('ERR_FERRY_UNREADABLE')
      expect(e.reason).toMatch(/EACCES|permission denied/)
      expect(e.since).toBeGreaterThan(0)
    }
    const event = await tail.next('file.error for secret.txt', e => e.type === 'file.error' && e.path === 'secret.txt')
    expect(event).toMatchObject({ folder: 'docs', code: 'ERR_FERRY_UNREADABLE' })
    // b has everything a has recorded (in sync), and secret.txt is still there, as it was
    await waitFor('a and b in sync', async () => (await Promise.all([a, b].map(status))).every(s => s.folders[0]!.inSync))
    expect(await readFile(join(b.folder, 'secret.txt'), 'utf8')).toBe('secret v1')
    expect(await exists(join(b.folder, 'locked-new.txt'))).toBe(false)
    const text = await ferry(['--home', a.home, 'status'])
    expect(text.stdout).toContain('2 paths not synced because of an error')
    expect(text.stdout).toMatch(/secret\.txt: cannot read secret\.txt: EACCES/)

    // readable again: the problems clear and the files sync
    for (const [name, content] of [['secret.txt', 'secret v3'], ['locked-new.txt', 'unlocked']] as const) {
      await writeFile(join(lab.dir, 'fix'), content)
      await rename(join(lab.dir, 'fix'), join(a.folder, name))
    }
    await waitConverged([a, b])
    expect(await readFile(join(b.folder, 'secret.txt'), 'utf8')).toBe('secret v3')
    expect(await readFile(join(b.folder, 'locked-new.txt'), 'utf8')).toBe('unlocked')
    // the problems clear
    for (const path of ['secret.txt', 'locked-new.txt']) await waitForEvent(a, 'file.error.cleared', e => e.path === path)
    expect(await errorsOf(a)).toEqual([])
    await tail.next('file.error.cleared for secret.txt', e => e.type === 'file.error.cleared' && e.path === 'secret.txt')
  })

  it('names that cannot be synced are each reported with a reason, never synced, and the rest syncs', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await mkdir(a.folder, { recursive: true })
    const bad: Record<string, RegExp> = {
      'new\nline.txt': /newline/,
      'bell\u0007.txt': /control character/,
      'back\\slash.txt': /backslash/,
      'cafe\u0301.txt': /NFC/,
      'bad\\xff.txt': /not valid UTF-8/
    }
    for (const name of Object.keys(bad)) {
      if (name === 'bad\\xff.txt') await writeFile(Buffer.concat([Buffer.from(join(a.folder, 'bad')), Buffer.from([0xff]), Buffer.from('.txt')]), 'x')
      else await writeFile(join(a.folder, name), 'x')
    }
    await writeFile(join(a.folder, 'fine.txt'), 'fine')
    await Promise.all([lab.start(a), lab.start(b)])

    // (a's tree holds a name that is not UTF-8: waitConverged cannot read it)
    await waitFor('fine.txt on b, both in sync', async () => await exists(join(b.folder, 'fine.txt')) &&
      (await Promise.all([a, b].map(status))).every(s => s.folders[0]!.inSync), 60_000)
    expect([...(await treeOf(b.folder)).keys()]).toEqual(['fine.txt'])
    await waitFor('every bad name reported', async () => (await errorsOf(a)).length === Object.keys(bad).length)
    const errors = await errorsOf(a)
    for (const [name, reason] of Object.entries(bad)) {
      const e = errors.find(x => x.path === name)
      expect(e, name).toBeDefined()
      expect(e!.code).toBe('ERR_FERRY_UNSYNCABLE_NAME')
      expect(e!.reason).toMatch(reason)
    }
    // "in sync" for the rest, but not silent about them
    const text = (await ferry(['--home', a.home, 'status'])).stdout
    expect(text).toContain('5 paths not synced because of an error')
    expect(text).toContain('new\\nline.txt: name contains a newline')

    // gone: the problems go with them
    for (const name of Object.keys(bad)) {
      if (name === 'bad\\xff.txt') await rm(Buffer.concat([Buffer.from(join(a.folder, 'bad')), Buffer.from([0xff]), Buffer.from('.txt')]))
      else await rm(join(a.folder, name))
    }
    await waitFor('the problems to clear', async () => (await errorsOf(a)).length === 0, 60_000)
  })

  it('an action that keeps failing is reported for its path, retried, and the rest syncs', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await mkdir(join(a.folder, 'd'), { recursive: true })
    await writeFile(join(a.folder, '.ferryignore'), '*.local\n')
    await writeFile(join(a.folder, 'd/f.txt'), 'f')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitConverged([a, b])
    // b keeps a file of its own in d/ (ignored: never synced); a replaces d/ by a file, which b
    // cannot install while d/ holds it
    await writeFile(join(b.folder, 'd/mine.local'), 'b only')
    await rm(join(a.folder, 'd'), { recursive: true })
    await writeFile(join(a.folder, 'd'), 'now a file')
    await writeFile(join(a.folder, 'other.txt'), 'the rest syncs')

    await waitFor('other.txt on b', async () => await exists(join(b.folder, 'other.txt')), 60_000)
    await waitFor('d reported on b', async () => (await errorsOf(b)).some(e => e.path === 'd'), 60_000)
    const e = (await errorsOf(b)).find(x => x.path === 'd')!
    expect(e.code).toBe('ERR_FERRY_DIR_NOT_EMPTY')
    expect(e.reason).toMatch(/fetch failed: d is a directory holding entries ferry does not sync/)
    expect(await readFile(join(b.folder, 'd/mine.local'), 'utf8')).toBe('b only')

    // once b's own file is out of the way, the retry installs the file and the problem clears
    await rm(join(b.folder, 'd/mine.local'))
    await waitConverged([a, b], 120_000)
    expect(await readFile(join(b.folder, 'd'), 'utf8')).toBe('now a file')
    await waitFor('the problem to clear', async () => (await errorsOf(b)).length === 0)
  })

  it.skipIf(!AS_ROOT)('a file that does not fit on the disk is reported, starves nothing, and arrives once there is room', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    // b's folder is a small file system of its own (mounting needs root)
    let mounted = ''
    const b = await lab.device('b', 'docs', {
      prepareFolder: async path => {
        await mkdir(path, { recursive: true })
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', `ferry-test-${process.pid}`, path])
        mounted = path
      }
    })
    cleanups.push(async () => {
      await lab.stop(b)
      try { execFileSync('umount', [mounted]) } catch { execFileSync('umount', ['-l', mounted]) }
    })
    await lab.pair(a, b)
    await mkdir(a.folder, { recursive: true })
    await writeRandomFile(join(a.folder, 'big.bin'), 50)
    await writeRandomFile(join(a.folder, 'mid.bin'), 2)
    for (let i = 0; i < 5; i++) await writeFile(join(a.folder, `small-${i}.txt`), `small ${i}`)
    await Promise.all([lab.start(a), lab.start(b)])

    await waitFor('the other files on b', async () => {
      for (const name of ['mid.bin', ...Array.from({ length: 5 }, (_, i) => `small-${i}.txt`)]) if (!await exists(join(b.folder, name))) return false
      return true
    }, 60_000)
    await waitFor('big.bin reported on b', async () => (await errorsOf(b)).some(e => e.path === 'big.bin'), 60_000)
    const e = (await errorsOf(b)).find(x => x.path === 'big.bin')!
    expect(e.code).toBe('ERR_FERRY_NO_SPACE')
    expect(e.reason).toContain('not enough free space for big.bin')
    expect((await status(b)).folders[0]!.inSync).toBe(false)
    expect(await exists(join(b.folder, 'big.bin'))).toBe(false)
    // no temp file took the disk
    const temps = await Promise.all((await tempFiles(b.folder)).map(async f => (await stat(f)).size))
    expect(temps.reduce((x, y) => x + y, 0)).toBeLessThan(MiB)
    const fs = await statfs(b.folder)
    expect(fs.bavail * fs.bsize).toBeGreaterThan(15 * MiB)

    // room again: the retry (with its growing delay) gets it
    execFileSync('mount', ['-o', 'remount,size=80m', mounted])
    await waitConverged([a, b], 150_000)
    expect((await stat(join(b.folder, 'big.bin'))).size).toBe(50 * MiB)
    await waitFor('the problem to clear', async () => (await errorsOf(b)).length === 0)
  })
})
