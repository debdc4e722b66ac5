import { describe, it, expect, afterEach } from 'vitest'
import { writeFile, readFile, rm, mkdtemp, mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Lab, waitConverged, waitFor } from '../helpers/ferry-process.ts'
import { cleanTrash, DAY_MS, listTrash, trashFileFor } from '../../src/history/trash.ts'

describe('local trash', () => {
  let lab: Lab | undefined
  afterEach(async () => { await lab?.cleanup() })

  it('keeps what a peer\'s change replaced or deleted, and nothing the user changed', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await mkdir(join(a.folder, 'dir'))
    await writeFile(join(a.folder, 'dir/report.txt'), 'version 1')
    await writeFile(join(a.folder, 'gone.txt'), 'soon deleted')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitConverged([a, b])

    await writeFile(join(a.folder, 'dir/report.txt'), 'version 2')
    await rm(join(a.folder, 'gone.txt'))
    await waitFor('b applied both changes', async () => !existsSync(join(b.folder, 'gone.txt')) && await readFile(join(b.folder, 'dir/report.txt'), 'utf8') === 'version 2')
    await waitConverged([a, b])

    const trash = await listTrash(b.folder)
    expect(trash.map(e => e.path).sort()).toEqual(['dir/report.txt', 'gone.txt'])
    const report = trash.find(e => e.path === 'dir/report.txt')!
    expect(await readFile(report.file, 'utf8')).toBe('version 1')
    expect(report.file).toMatch(/\.ferry\/trash\/dir\/report\.txt~\d{8}-\d{6}~\d+$/)
    expect(await readFile(trash.find(e => e.path === 'gone.txt')!.file, 'utf8')).toBe('soon deleted')
    // the user's own edits and deletes are not trashed on their device
    expect(await listTrash(a.folder)).toEqual([])
  })

  it('removes entries past the retention period only', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ferry-trash-'))
    try {
      const now = Date.UTC(2025, 5, 15, 12, 0, 0)
      const old = trashFileFor(root, 'a/old.txt', 3, now - 15 * DAY_MS)
      const recent = trashFileFor(root, 'a/recent.txt', 4, now - 13 * DAY_MS)
      for (const f of [old, recent]) {
        await mkdir(join(f, '..'), { recursive: true })
        await writeFile(f, 'x')
      }
      expect(await cleanTrash(root, 14 * DAY_MS, now)).toBe(1)
      expect((await listTrash(root)).map(e => [e.path, e.seq])).toEqual([['a/recent.txt', 4]])
      expect(await cleanTrash(root, 0, now)).toBe(1)
      expect(existsSync(join(root, '.ferry/trash/a'))).toBe(false)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
