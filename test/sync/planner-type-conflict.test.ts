import { describe, expect, it } from 'vitest'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { isConflictCopy, parseConflictPath } from '../../src/sync/conflict-name.ts'
import { plan, type Action } from '../../src/sync/planner.ts'

// --- hand-made records ---------------------------------------------------------------------------

const A = '12D3KooWDeviceAAAAAAA'
const B = '12D3KooWDeviceBBBBBBB'

function rec (device: string, seq: number, path: string, fields: Partial<FileRecord> & { version: Record<string, number> }): FileRecord {
  const content = fields.type === 'dir' || fields.deleted === true ? [] : [{ cid: blockCid(new TextEncoder().encode(`${path}@${device}:${seq}`)), size: 10 }]
  return { folder: 'f', device, seq, path, type: 'file', size: content.length * 10, mode: 0o644, mtimeMs: 1_000_000 + seq, deleted: false, modifiedBy: device, blocks: content, ...fields }
}

function planOn (local: FileRecord[], remote: FileRecord[]): Action[] {
  const r = new Map<string, FileRecord[]>()
  for (const x of remote) r.set(x.path, [...(r.get(x.path) ?? []), x])
  return plan({ local: new Map(local.map(x => [x.path, x])), remote: r })
}

describe('planner: a file where live entries lie below (type conflict)', () => {
  // A had d/ with d/x.txt (both at A:1..2, B adopted); A replaced d by a file (A:3) and deleted
  // d/x.txt (A:4); concurrently B edited d/x.txt (B:5).
  const aDir = rec(A, 1, 'd', { type: 'dir', size: 0, version: { [A]: 1 } })
  const aFile = rec(A, 3, 'd', { version: { [A]: 3 } })
  const aGone = rec(A, 4, 'd/x.txt', { deleted: true, size: 0, version: { [A]: 4 } })
  const bDir = { ...aDir, device: B, seq: 1 }
  const bEdit = rec(B, 5, 'd/x.txt', { version: { [A]: 2, [B]: 5 } })

  it('the device holding the file keeps it as a conflict copy and makes the directory', () => {
    const actions = planOn([aFile, aGone], [bDir, bEdit])
    const d = actions.find(a => a.path === 'd')
    expect(d?.kind).toBe('dir-over-file')
    const keptAs = (d as Extract<Action, { kind: 'dir-over-file' }>).conflictPath!
    expect(isConflictCopy(keptAs)).toBe(true)
    expect(parseConflictPath(keptAs)?.original).toBe('d')
    // the edit below is installed after (directories first)
    expect(actions.map(a => `${a.kind} ${a.path}`)).toEqual(['dir-over-file d', 'fetch d/x.txt'])
  })

  it('a device with the directory waits: no fetch of the file over it, no delete of the edit', () => {
    expect(planOn([bDir, bEdit], [aFile, aGone])).toEqual([])
  })

  it('without anything live below, the file simply replaces the directory', () => {
    const bOld = rec(B, 2, 'd/x.txt', { version: { [A]: 2 } })
    const aGoneOver = rec(A, 4, 'd/x.txt', { deleted: true, size: 0, version: { [A]: 4 } })
    expect(planOn([bDir, bOld], [aFile, aGoneOver]).map(a => `${a.kind} ${a.path}`)).toEqual(['fetch d', 'delete d/x.txt'])
  })

  it('a superseded local file goes without a copy', () => {
    const bOldFile = rec(B, 2, 'd', { version: { [A]: 2 } }) // older than a's file A:3
    const cEdit = rec(A, 6, 'd/y.txt', { version: { [A]: 6 } })
    const actions = planOn([bOldFile], [aFile, cEdit])
    expect(actions[0]).toEqual({ kind: 'dir-over-file', path: 'd', local: bOldFile })
  })

  it('a local file losing to a concurrent directory is kept as a conflict copy first', () => {
    const bFile = rec(B, 7, 'd', { version: { [A]: 1, [B]: 7 }, mtimeMs: 10 })
    const aNewDir = rec(A, 8, 'd', { type: 'dir', size: 0, version: { [A]: 8 }, mtimeMs: 2_000_000 })
    const [first] = planOn([bFile], [aNewDir])
    expect(first?.kind).toBe('conflict')
    expect((first as Extract<Action, { kind: 'conflict' }>).record.type).toBe('dir')
  })
})

