import { afterEach, describe, expect, it } from 'vitest'
import { SimWorld } from '../../sim/sim-world.ts'
import { isConflictCopy, parseConflictPath } from '../../src/sync/conflict-name.ts'
import { DIR } from '../../sim/invariants.ts'

/** Targeted scenarios on real daemons: what the planner's conflict rules must leave on disk. */
describe('concurrent changes on real daemons', () => {
  let world: SimWorld | undefined
  afterEach(async () => { await world?.close(); world = undefined })

  const named = (tree: Map<string, string>, name: string): string[] =>
    [...tree].filter(([p]) => p === name || (isConflictCopy(p) && parseConflictPath(p)?.original === name)).map(([, c]) => c).sort()

  it('two devices edit one file apart (one crashes meanwhile): both versions kept, one at the name, one as a conflict copy', async () => {
    world = await SimWorld.create({ seed: 7001, devices: 3 })
    await world.apply({ kind: 'write', device: 0, path: 'notes.txt', content: 'base' })
    await world.apply({ kind: 'settle' })
    await world.apply({ kind: 'isolate', device: 1 })
    await world.apply({ kind: 'write', device: 1, path: 'notes.txt', content: 'edit by d1' })
    await world.apply({ kind: 'write', device: 2, path: 'notes.txt', content: 'edit by d2' })
    await world.apply({ kind: 'crash', device: 2 })
    await world.apply({ kind: 'settle' })
    const [tree] = await world.trees()
    // both versions, one at the name. Usually one copy; on a loaded machine d0 may hold d1's
    // version (fetched before d2's arrived) and keep it too, before it hears of d1's own copy:
    // d0 names d1 "d1" and d1 names itself by id, so the same content may stand under two names
    expect(new Set(named(tree!, 'notes.txt'))).toEqual(new Set(['edit by d1', 'edit by d2']))
    expect(['edit by d1', 'edit by d2']).toContain(tree!.get('notes.txt'))
    const copies = [...tree!.keys()].filter(p => isConflictCopy(p))
    expect(copies.length).toBeGreaterThanOrEqual(1)
    expect(new Set(copies.map(p => tree!.get(p))).size).toBe(1)
  })

  it('a directory replaced by a file while another device edits inside it: both kept, all identical', async () => {
    world = await SimWorld.create({ seed: 7002, devices: 2 })
    await world.apply({ kind: 'write', device: 0, path: 'd/x', content: 'base-x' })
    await world.apply({ kind: 'settle' })
    await world.apply({ kind: 'isolate', device: 0 })
    await world.apply({ kind: 'swap', device: 0, path: 'd', content: 'file-d' })
    await world.apply({ kind: 'write', device: 1, path: 'd/x', content: 'edit' })
    await world.apply({ kind: 'settle' })
    const [tree] = await world.trees()
    expect(tree!.get('d')).toBe(DIR)
    expect(tree!.get('d/x')).toBe('edit')
    expect(named(tree!, 'd').filter(c => c !== DIR)).toEqual(['file-d'])
  })
})
