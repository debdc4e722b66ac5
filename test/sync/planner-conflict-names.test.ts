import { describe, expect, it } from 'vitest'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { conflictPath, shortDeviceId } from '../../src/sync/conflict-name.ts'
import { plan, type Action } from '../../src/sync/planner.ts'

const A = '12D3KooWDeviceAAAAAAA'
const B = '12D3KooWDeviceBBBBBBB'
const C = '12D3KooWDeviceCCCCCCC'

function rec (device: string, seq: number, path: string, text: string, version: Record<string, number>, modifiedBy = device): FileRecord {
  return { folder: 'f', device, seq, path, type: 'file', size: 10, mode: 0o644, mtimeMs: 1_000_000, deleted: false, modifiedBy, blocks: [{ cid: blockCid(new TextEncoder().encode(text)), size: 10 }], version }
}

function planOn (local: FileRecord[], remote: FileRecord[], label: (d: string) => string): Action[] {
  const r = new Map<string, FileRecord[]>()
  for (const x of remote) r.set(x.path, [...(r.get(x.path) ?? []), x])
  return plan({ local: new Map(local.map(x => [x.path, x])), remote: r, deviceLabel: label })
}

describe('planner: a losing version already kept under another device\'s name for its author', () => {
  // A's edit lost to C's. B, which calls A "laptop", already kept A's edit beside the file as
  // notes.sync-conflict-…-laptop.txt, and C has that copy. A names itself by id: it must not keep
  // its edit a second time under its own name for it.
  const aEdit = rec(A, 2, 'notes.txt', 'edit by a', { [A]: 2 })
  const cEdit = rec(C, 3, 'notes.txt', 'edit by c', { [C]: 3 })
  const keptByB = rec(B, 4, conflictPath('notes.txt', aEdit.mtimeMs, A, 'laptop'), 'edit by a', { [B]: 4 }, A)

  it('takes the winner without another copy when the copy is known', () => {
    const actions = planOn([aEdit], [cEdit, keptByB], d => shortDeviceId(d))
    expect(actions.map(a => `${a.kind} ${a.path}`)).toEqual([`fetch ${keptByB.path}`, 'fetch notes.txt'])
  })

  it('keeps it (by its own label) when no copy is known, and a copy with other content does not count', () => {
    const other = { ...keptByB, blocks: [{ cid: blockCid(new TextEncoder().encode('something else')), size: 10 }] }
    const actions = planOn([aEdit], [cEdit, other], d => shortDeviceId(d))
    const c = actions.find(a => a.path === 'notes.txt')
    expect(c?.kind).toBe('conflict')
    expect((c as Extract<Action, { kind: 'conflict' }>).conflictPath).toBe(conflictPath('notes.txt', aEdit.mtimeMs, A))
  })
})
