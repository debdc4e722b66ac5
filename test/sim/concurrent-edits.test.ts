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
    expect(named(tree!, 'notes.txt')).toEqual(['edit by d1', 'edit by d2'])
    expect([...tree!.keys()].filter(p => isConflictCopy(p))).toHaveLength(1)
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
