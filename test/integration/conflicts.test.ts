import { describe, it, expect, afterEach } from 'vitest'
import { writeFile, readFile, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferry, waitConverged, type Device } from '../helpers/ferry-process.ts'
import type { ConflictCopy } from '../../src/history/conflict-list.ts'

async function conflicts (d: Device): Promise<ConflictCopy[]> {
  const r = await ferry(['--home', d.home, 'conflicts', '--json'])
  if (r.code !== 0) throw new Error(`ferry conflicts on ${d.name}: ${r.stderr}`)
  return JSON.parse(r.stdout) as ConflictCopy[]
}

/** Contents of `name` and of its conflict copies, sorted. */
async function versionsOf (d: Device, tree: Map<string, string>, name: string): Promise<string[]> {
  const stem = name.replace(/\.txt$/, '')
  const paths = [...tree.keys()].filter(p => p === name || p.startsWith(`${stem}.sync-conflict-`))
  return (await Promise.all(paths.map(async p => await readFile(join(d.folder, p), 'utf8')))).sort()
}

describe('conflicts between real processes', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('keep both versions of a file edited while apart, pick the same winner on both, and list the copy on both', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await writeFile(join(a.folder, 'plan.txt'), 'original')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitConverged([a, b])

    // partition: b is down while both edit
    await lab.stop(b)
    await writeFile(join(a.folder, 'plan.txt'), 'edited on a')
    await writeFile(join(b.folder, 'plan.txt'), 'edited on b')
    // b's edit is older: a's version wins the name everywhere
    const older = new Date(Date.now() - 3_600_000)
    await utimes(join(b.folder, 'plan.txt'), older, older)
    await lab.start(b)
    const tree = await waitConverged([a, b])

    expect(await readFile(join(a.folder, 'plan.txt'), 'utf8')).toBe('edited on a')
    expect(await readFile(join(b.folder, 'plan.txt'), 'utf8')).toBe('edited on a')
    expect(await versionsOf(a, tree, 'plan.txt')).toEqual(['edited on a', 'edited on b'])

    // asked of the running daemons
    const listed = await Promise.all([conflicts(a), conflicts(b)])
    for (const list of listed) {
      expect(list).toHaveLength(1)
      expect(list[0]).toMatchObject({ folder: 'docs', original: 'plan.txt', device: b.id })
      expect(list[0]!.path).toMatch(/^plan\.sync-conflict-\d{8}-\d{6}-.{7}\.txt$/)
      expect(Date.parse(list[0]!.time)).toBe(Math.floor(older.getTime() / 1000) * 1000)
    }
    expect(listed[0]).toEqual(listed[1])
    // and read from the database when no daemon runs
    await lab.stop(a)
    expect(await conflicts(a)).toEqual(listed[0])
    const text = await ferry(['--home', a.home, 'conflicts'])
    expect(text.stdout).toContain('beside plan.txt')
  })

  it('three devices partitioned in pairs and re-joined one pair at a time end identical, every version kept', async () => {
    lab = new Lab()
    await lab.setup()
    const devices = [await lab.device('a'), await lab.device('b'), await lab.device('c')]
    const [a, b, c] = devices as [Device, Device, Device]
    await lab.pair(a, b)
    await lab.pair(b, c)
    await lab.pair(a, c)
    await writeFile(join(a.folder, 'notes.txt'), 'base')
    await Promise.all(devices.map(async d => await lab.start(d)))
    await waitConverged(devices)
    await Promise.all(devices.map(async d => await lab.stop(d)))

    // everyone edits the same file and adds one of its own while all are apart
    for (const d of devices) {
      await writeFile(join(d.folder, 'notes.txt'), `edit by ${d.name}`)
      await writeFile(join(d.folder, `own-${d.name}.txt`), d.name)
    }
    const meet = async (pair: Device[]): Promise<void> => {
      await Promise.all(pair.map(async d => await lab.start(d)))
      await waitConverged(pair)
      await Promise.all(pair.map(async d => await lab.stop(d)))
    }
    await meet([a, b])
    await meet([b, c])
    await meet([c, a])
    await Promise.all(devices.map(async d => await lab.start(d)))
    const tree = await waitConverged(devices)

    for (const d of devices) expect(tree.has(`own-${d.name}.txt`)).toBe(true)
    expect(await versionsOf(a, tree, 'notes.txt')).toEqual(['edit by a', 'edit by b', 'edit by c'])
    const listed = await Promise.all(devices.map(conflicts))
    expect(listed[0]).toHaveLength(2)
    // the same copies everywhere, each naming its author by id: on the author itself too, when
    // another device made the copy and named it by the name it gives the author (found through
    // the version the copy keeps)
    const ids = new Set(devices.map(d => d.id))
    for (const list of listed) for (const c of list) expect(ids.has(c.device), c.device).toBe(true)
    expect(listed[1]).toEqual(listed[0])
    expect(listed[2]).toEqual(listed[0])
  })
})
