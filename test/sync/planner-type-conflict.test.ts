import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { compareVersions } from '../../src/model/version-vector.ts'
import { isConflictCopy, parseConflictPath } from '../../src/sync/conflict-name.ts'
import { plan, type Action } from '../../src/sync/planner.ts'
import { DIR_ENTRY, type SimDevice } from '../../sim/sim-device.ts'
import { createDevices, settle, syncOnce } from '../../sim/sim-history.ts'

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

// --- simulated devices ---------------------------------------------------------------------------

function contentsNamed (d: SimDevice, name: string): string[] {
  return [...d.snapshot()].filter(([p]) => p === name || (isConflictCopy(p) && parseConflictPath(p)?.original === name)).map(([, c]) => c).sort()
}

describe('type conflicts between simulated devices', () => {
  const scenario = fc.record({
    devices: fc.integer({ min: 2, max: 3 }),
    replacer: fc.integer({ min: 0, max: 2 }),
    editor: fc.integer({ min: 0, max: 2 }),
    editKind: fc.constantFrom('edit', 'create'),
    tickMs: fc.constantFrom(1000, 400, 0),
    syncs: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { maxLength: 10 })
  }).filter(s => s.replacer < s.devices && s.editor < s.devices && s.replacer !== s.editor)

  it('a directory replaced by a file while another device changes something in it: both kept, all identical', () => {
    fc.assert(fc.property(scenario, ({ devices: n, replacer, editor, editKind, tickMs, syncs }) => {
      const devices = createDevices(n, { tickMs })
      devices[0]!.userWrite('d/x', 'base-x')
      devices[0]!.userWrite('d/y', 'base-y')
      settle(devices)
      // partitioned: the two changes are concurrent
      const r = devices[replacer]!
      r.userDelete('d')
      r.userWrite('d', 'file-d')
      const edited = editKind === 'edit' ? 'd/x' : 'd/new'
      devices[editor]!.userWrite(edited, 'edit')
      for (const [from, to] of syncs) if (from !== to && from < n && to < n) syncOnce(devices[from]!, devices[to]!)
      settle(devices)

      const [first, ...rest] = devices.map(d => [...d.snapshot()])
      for (const s of rest) expect(s).toEqual(first)
      for (const d of devices) {
        d.checkDiskMatchesRecords()
        expect(d.planActions()).toEqual([])
      }
      const disk = devices[0]!
      // the edit is at its name, in a directory d; the replacing file is kept as a conflict copy of d
      expect(disk.disk.get('d')).toBe(DIR_ENTRY)
      expect(disk.disk.get(edited)).toBe('edit')
      expect(contentsNamed(disk, 'd').filter(c => c !== DIR_ENTRY)).toEqual(['file-d'])
    }), { seed: 20251202, numRuns: 300 })
  })

  it('a file replaced by a directory while another device edits the file: both kept, all identical', () => {
    fc.assert(fc.property(scenario, ({ devices: n, replacer, editor, tickMs, syncs }) => {
      const devices = createDevices(n, { tickMs })
      devices[0]!.userWrite('d', 'base-d')
      settle(devices)
      const r = devices[replacer]!
      r.userDelete('d')
      r.userWrite('d/z', 'inside')
      devices[editor]!.userWrite('d', 'edited-d')
      const edit = devices[editor]!.own.get('d')!
      expect(compareVersions(edit.version, r.own.get('d')!.version)).toBe('concurrent')
      for (const [from, to] of syncs) if (from !== to && from < n && to < n) syncOnce(devices[from]!, devices[to]!)
      settle(devices)

      const [first, ...rest] = devices.map(d => [...d.snapshot()])
      for (const s of rest) expect(s).toEqual(first)
      for (const d of devices) {
        d.checkDiskMatchesRecords()
        expect(d.planActions()).toEqual([])
      }
      const disk = devices[0]!
      expect(disk.disk.get('d')).toBe(DIR_ENTRY)
      expect(disk.disk.get('d/z')).toBe('inside')
      expect(contentsNamed(disk, 'd').filter(c => c !== DIR_ENTRY)).toEqual(['edited-d'])
    }), { seed: 20251203, numRuns: 300 })
  })
})
