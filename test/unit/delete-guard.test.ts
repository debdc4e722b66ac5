import { describe, it, expect } from 'vitest'
import { DEFAULT_DELETE_PROTECTION, DELETE_SETTLE_MAX_MS, DELETE_SETTLE_MS, DELETE_WINDOW_MS, DeleteGuard, deleteProtectionOf, holdReason } from '../../src/sync/delete-guard.ts'
import type { LocalChange } from '../../src/store/folder-store.ts'

const P = DEFAULT_DELETE_PROTECTION
const names = (n: number, prefix = 'f'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
const tomb = (path: string, type: 'file' | 'dir' = 'file'): LocalChange => ({ path, type, size: 0, mode: 0o644, mtimeMs: 0, deleted: true, blocks: [], meta: null, base: 1 })

describe('mass-delete threshold', () => {
  it('holds more than half of the files and more than 10', () => {
    expect(holdReason({ files: names(90), dirs: [], folderFiles: 100 }, P)).toBe('90 of 100 files deleted at once')
    expect(holdReason({ files: names(51), dirs: [], folderFiles: 100 }, P)).toBeDefined()
    expect(holdReason({ files: names(50), dirs: [], folderFiles: 100 }, P)).toBeUndefined()
    // a small folder: 10 files are not "more than 10"
    expect(holdReason({ files: names(10), dirs: [], folderFiles: 10 }, P)).toBeUndefined()
    expect(holdReason({ files: names(11), dirs: [], folderFiles: 11 }, P)).toBeDefined()
  })

  it('holds a whole top-level directory of more than 100 files, not a deeper one', () => {
    const top = names(101, 'photos/')
    expect(holdReason({ files: top, dirs: ['photos'], folderFiles: 10_000 }, P)).toBe('top-level directory photos with 101 files deleted')
    expect(holdReason({ files: names(100, 'photos/'), dirs: ['photos'], folderFiles: 10_000 }, P)).toBeUndefined()
    expect(holdReason({ files: names(101, 'a/photos/'), dirs: ['a/photos'], folderFiles: 10_000 }, P)).toBeUndefined()
    // the files of a directory that stays are not "a whole directory"
    expect(holdReason({ files: top, dirs: [], folderFiles: 10_000 }, P)).toBeUndefined()
  })

  it('is configurable and can be turned off', () => {
    expect(deleteProtectionOf(undefined)).toEqual(P)
    expect(deleteProtectionOf({ ratio: 0.9, minFiles: undefined })).toEqual({ ...P, ratio: 0.9 })
    expect(holdReason({ files: names(90), dirs: [], folderFiles: 100 }, deleteProtectionOf({ enabled: false }))).toBeUndefined()
    expect(holdReason({ files: names(90), dirs: [], folderFiles: 100 }, deleteProtectionOf({ ratio: 0.95 }))).toBeUndefined()
    expect(holdReason({ files: names(3), dirs: [], folderFiles: 4 }, deleteProtectionOf({ minFiles: 2 }))).toBeDefined()
  })
})

describe('DeleteGuard', () => {
  it('waits for quiet before judging a burst, at most a while', () => {
    const g = new DeleteGuard()
    expect(g.dueIn(0)).toBeUndefined()
    g.add([tomb('a')], 0)
    expect(g.dueIn(0)).toBe(DELETE_SETTLE_MS)
    g.add([tomb('b')], 1_500)
    expect(g.dueIn(1_500)).toBe(DELETE_SETTLE_MS)
    for (let t = 3_000; t < 20_000; t += 1_000) g.add([tomb(`c${t}`)], t)
    expect(g.dueIn(19_000)).toBe(0)
    expect(g.dueIn(DELETE_SETTLE_MAX_MS - 1_000)).toBe(1_000)
    expect(g.takePending().length).toBe(19)
    expect(g.dueIn(20_000)).toBeUndefined()
  })

  it('counts a burst over several judgements: deletes committed in the window count', () => {
    const g = new DeleteGuard()
    // 100 files; 40 deleted and committed, then 20 more: 60 of the 100 in the window
    const first = names(40).map(p => tomb(p))
    expect(g.decide(first, 100, P, 0)).toEqual({ commit: first, held: false })
    g.committed(first, 0)
    const second = names(20, 'g').map(p => tomb(p))
    expect(g.decide(second, 60, P, 5_000)).toEqual({ commit: [], held: true })
    expect(g.held.size).toBe(20)
    expect(g.heldReason).toBe('60 of 100 files deleted at once')
    // while held, every new delete joins the hold
    expect(g.decide([tomb('late')], 40, P, 6_000)).toEqual({ commit: [], held: true })
    expect(g.held.size).toBe(21)
    expect(g.takeHeld().length).toBe(21)
    expect(g.held.size).toBe(0)
    // out of the window, the old deletes no longer count
    const third = names(20, 'h').map(p => tomb(p))
    expect(g.decide(third, 40, P, 5_000 + DELETE_WINDOW_MS).held).toBe(false)
  })

  it('commits directory tombstones with their files, and holds a whole top-level directory', () => {
    const g = new DeleteGuard()
    const changes = [tomb('photos', 'dir'), ...names(150, 'photos/').map(p => tomb(p))]
    expect(g.decide(changes, 10_000, P, 0).held).toBe(true)
    expect(g.held.has('photos')).toBe(true)
  })
})
