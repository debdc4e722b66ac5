import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Lab, waitFor, waitInSync, type Device } from '../helpers/ferry-process.ts'

/** Two real daemons; a link in a's folder must never let b's files out of it. */
describe('a symlinked directory in the folder is never written through', () => {
  const lab = new Lab()
  let a: Device
  let b: Device
  let outside: string

  beforeAll(async () => {
    await lab.setup()
    outside = await mkdtemp(join(tmpdir(), 'ferry-outside-'))
    a = await lab.device('a')
    b = await lab.device('b')
    await lab.pair(a, b)
    await writeFile(join(a.folder, 'first.txt'), 'first')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitInSync([a, b])
  })
  afterAll(async () => {
    await lab.cleanup()
    await rm(outside, { recursive: true, force: true })
  })

  it("b's esc/pwn.txt never lands in the directory a's esc links to; the rest of the folder syncs", async () => {
    await symlink(outside, join(a.folder, 'esc'))
    await mkdir(join(b.folder, 'esc'))
    await writeFile(join(b.folder, 'esc/pwn.txt'), 'pwned')
    // a refused it: its daemon reports the failure of that path (a positive event, not a sleep)
    await waitFor('a refusing esc/pwn.txt', () => /esc\/pwn\.txt: .*symbolic link/.test(a.log), 60_000)
    // and goes on: a file b makes afterwards arrives
    await writeFile(join(b.folder, 'after.txt'), 'after')
    await waitFor('after.txt on a', async () => await readFile(join(a.folder, 'after.txt'), 'utf8').catch(() => '') === 'after', 60_000)
    expect(await readdir(outside)).toEqual([])
    expect((await lstat(join(a.folder, 'esc'))).isSymbolicLink()).toBe(true)
    expect(a.process?.exitCode).toBeNull()
    // and a's own files still reach b
    await writeFile(join(a.folder, 'from-a.txt'), 'from a')
    await waitFor('from-a.txt on b', async () => await readFile(join(b.folder, 'from-a.txt'), 'utf8').catch(() => '') === 'from a', 60_000)
    expect(await readdir(outside)).toEqual([])
  })
})
