import { describe, it, expect, afterEach } from 'vitest'
import { writeFile, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Lab, ferry, waitConverged, waitFor, type Device } from '../helpers/ferry-process.ts'
import type { DeletedFile, Revision } from '../../src/history/revisions.ts'
import type { RestoreResult } from '../../src/history/restore.ts'
import { listTrash } from '../../src/history/trash.ts'

async function json<T> (d: Device, args: string[]): Promise<T> {
  const r = await ferry(['--home', d.home, ...args, '--json'])
  if (r.code !== 0) throw new Error(`ferry ${args.join(' ')} on ${d.name} exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

const content = async (d: Device, p: string): Promise<string | undefined> => existsSync(join(d.folder, p)) ? await readFile(join(d.folder, p), 'utf8') : undefined

describe('history: revisions and restore between real processes', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('restores an old version on the device that received the edit, and every device ends with it', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await Promise.all([lab.start(a), lab.start(b)])
    await writeFile(join(a.folder, 'report.txt'), 'version one')
    await waitFor('b has version one', async () => await content(b, 'report.txt') === 'version one')
    await waitConverged([a, b])
    await writeFile(join(a.folder, 'report.txt'), 'version two!')
    await waitFor('b has version two', async () => await content(b, 'report.txt') === 'version two!')
    await waitConverged([a, b])

    const onB = await json<Revision[]>(b, ['revisions', 'docs', 'report.txt'])
    expect(onB).toHaveLength(2)
    const [v2, v1] = onB as [Revision, Revision]
    expect(v2).toMatchObject({ current: true, deleted: false, size: 12, device: a.id })
    expect(v2.sources).toContainEqual({ kind: 'local' })
    expect(v2.sources).toContainEqual({ kind: 'peer', device: a.id })
    expect(v1).toMatchObject({ current: false, size: 11, device: a.id })
    expect(v1.sources.map(s => s.kind)).toEqual(['trash'])
    // version ids name versions, not holders: a lists the same ids
    const onA = await json<Revision[]>(a, ['revisions', 'docs', 'report.txt'])
    expect(onA.map(r => r.versionId)).toEqual([v2.versionId, v1.versionId])
    expect(onA[1]!.sources).toEqual([{ kind: 'peers', status: 'unknown' }])

    const restored = await json<RestoreResult>(b, ['restore', 'docs', 'report.txt', '--version', v1.versionId])
    expect(restored).toMatchObject({ versionId: v1.versionId, to: 'report.txt', size: 11, recorded: true, from: { trash: 11, local: 0, peers: 0 } })
    await waitFor('a has the restored version', async () => await content(a, 'report.txt') === 'version one')
    await waitConverged([a, b])
    expect(await content(b, 'report.txt')).toBe('version one')
    // a new version everywhere: three known now, the newest current, made by b
    const after = await json<Revision[]>(a, ['revisions', 'docs', 'report.txt'])
    expect(after).toHaveLength(3)
    expect(after[0]).toMatchObject({ current: true, size: 11, device: b.id })
    // what the restore replaced on a (a peer's change) is in a's trash
    expect((await listTrash(a.folder)).map(e => e.path)).toEqual(['report.txt'])

    // errors are one line and a non-zero exit
    const unknownVersion = await ferry(['--home', b.home, 'restore', 'docs', 'report.txt', '--version', 'ffffffffffff'])
    expect(unknownVersion.code).not.toBe(0)
    expect(unknownVersion.stderr.trim().split('\n')).toHaveLength(1)
    expect(unknownVersion.stderr).toContain('no version ffffffffffff of report.txt')
    const unknownFolder = await ferry(['--home', b.home, 'revisions', 'nope', 'report.txt'])
    expect(unknownFolder.code).not.toBe(0)
    expect(unknownFolder.stderr).toContain('no folder nope')
    const unknownPath = await ferry(['--home', b.home, 'revisions', 'docs', 'never.txt'])
    expect(unknownPath.code).not.toBe(0)
    expect(unknownPath.stderr).toContain('no version of never.txt')

    // without a daemon: revisions read the database, restore refuses clearly
    await lab.stop(b)
    expect((await json<Revision[]>(b, ['revisions', 'docs', 'report.txt'])).map(r => r.versionId)).toEqual(after.map(r => r.versionId))
    const noDaemon = await ferry(['--home', b.home, 'restore', 'docs', 'report.txt'])
    expect(noDaemon.code).not.toBe(0)
    expect(noDaemon.stderr.trim().split('\n')).toHaveLength(1)
    expect(noDaemon.stderr).toContain('restore needs the running daemon')
  })

  it('lists a deleted file and restores it as a new version everywhere', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await writeFile(join(a.folder, 'gone.txt'), 'deleted by mistake')
    await writeFile(join(a.folder, 'stays.txt'), 'stays')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitConverged([a, b])
    await rm(join(a.folder, 'gone.txt'))
    await waitFor('b deleted it', () => !existsSync(join(b.folder, 'gone.txt')))
    await waitConverged([a, b])

    const deleted = await json<DeletedFile[]>(b, ['revisions', 'docs', '--deleted'])
    expect(deleted).toHaveLength(1)
    expect(deleted[0]).toMatchObject({ path: 'gone.txt', deletedBy: a.id, size: 18 })
    const text = await ferry(['--home', b.home, 'revisions', 'docs', 'gone.txt'])
    expect(text.stdout).toContain('deleted (current)')

    // restored on a, where the user deleted it (nothing in a's trash): the bytes come from b's
    // trash over the blocks protocol; the default version is the newest that had content
    const restored = await json<RestoreResult>(a, ['restore', 'docs', 'gone.txt'])
    expect(restored).toMatchObject({ versionId: deleted[0]!.lastVersionId, recorded: true, from: { trash: 0, local: 0, peers: 18 } })
    expect(await content(a, 'gone.txt')).toBe('deleted by mistake')
    await waitFor('b has it back', async () => await content(b, 'gone.txt') === 'deleted by mistake')
    await waitConverged([a, b])
    expect(await json<DeletedFile[]>(b, ['revisions', 'docs', '--deleted'])).toEqual([])

    // --to restores beside the current file, here from local blocks
    const copy = await json<RestoreResult>(b, ['restore', 'docs', 'gone.txt', '--version', deleted[0]!.lastVersionId!, '--to', 'copies/gone-again.txt'])
    expect(copy).toMatchObject({ to: 'copies/gone-again.txt', from: { peers: 0 } })
    expect(copy.from.local + copy.from.trash).toBe(18)
    await waitFor('a has the copy', async () => await content(a, 'copies/gone-again.txt') === 'deleted by mistake')
    await waitConverged([a, b])

    // a version nobody holds any more cannot be restored: one clear line
    await lab.stop(b)
    await rm(join(a.folder, 'stays.txt'))
    await waitFor('a recorded the delete', async () => (await json<DeletedFile[]>(a, ['revisions', 'docs', '--deleted'])).length === 1)
    const unavailable = await ferry(['--home', a.home, 'restore', 'docs', 'stays.txt'])
    expect(unavailable.code).not.toBe(0)
    expect(unavailable.stderr.trim().split('\n')).toHaveLength(1)
    expect(unavailable.stderr).toContain('no connected peer has its content')
  })
})
