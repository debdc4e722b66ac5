import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { compareVersions, type VersionVector } from '../../src/model/version-vector.ts'
import { isConflictCopy } from '../../src/sync/conflict-name.ts'
import { plan } from '../../src/sync/planner.ts'
import { contentIdOf, type SimDevice } from '../../sim/sim-device.ts'
import { createDevices, runHistory, settle, syncOnce, type HistoryOp } from '../../sim/sim-history.ts'

const FILE_PATHS = ['a', 'b', 'd/c', 'd/e']
const DIR_PATH = 'd'
const SEED = 20250314
/** histories are cheap (~1 ms each); the targeted scenario runs fewer */
const NUM_RUNS = 2000
const NUM_RUNS_TARGETED = 300
const CONFLICT_NAME = /\.sync-conflict-\d{8}-\d{6}-/

// --- generators ---------------------------------------------------------------------------------

/**
 * An op before content ids are assigned: `shared` writes draw from a pool of two contents, so
 * concurrent writes of equal content (adopted, not conflicts) are common; the rest are unique.
 */
type RawOp =
  | { kind: 'write', device: number, path: string, shared: boolean, pick: number }
  | Exclude<HistoryOp, { kind: 'write' }>

function rawOp (devices: number): fc.Arbitrary<RawOp> {
  const device = fc.integer({ min: 0, max: devices - 1 })
  const pair = fc.tuple(device, device).filter(([a, b]) => a !== b)
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('write' as const), device, path: fc.constantFrom(...FILE_PATHS), shared: fc.boolean(), pick: fc.integer({ min: 0, max: 1 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), device, path: fc.constantFrom(...FILE_PATHS, DIR_PATH) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('rename' as const), device, from: fc.constantFrom(...FILE_PATHS), to: fc.constantFrom(...FILE_PATHS) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('mkdir' as const), device, path: fc.constant(DIR_PATH) }) },
    { weight: 5, arbitrary: pair.map(([from, to]) => ({ kind: 'sync' as const, from, to })) }
  )
}

function toHistory (raw: readonly RawOp[]): HistoryOp[] {
  return raw.map((op, i) => op.kind === 'write'
    ? { kind: 'write', device: op.device, path: op.path, content: op.shared ? `shared-${op.pick}` : `unique-${i}` }
    : op)
}

/**
 * Clock steps per new version: 1 s gives every version its own second; 400 ms puts two versions
 * of one device into one second (conflict names have second resolution); 0 makes every mtime equal.
 */
const tickMs = fc.constantFrom(1000, 400, 0)

const history = fc.record({
  devices: fc.integer({ min: 2, max: 4 }),
  tickMs
}).chain(({ devices, tickMs }) =>
  fc.array(rawOp(devices), { minLength: 1, maxLength: 40, size: 'medium' }).map(raw => ({ devices, tickMs, ops: toHistory(raw) })))

// --- helpers ------------------------------------------------------------------------------------

/** `path` with every `.sync-conflict-…` suffix removed: the name the content was kept for. */
function originalName (path: string): string {
  let p = path
  for (;;) {
    const m = /^(.*)\.sync-conflict-\d{8}-\d{6}-[^/.]+(\.[^/]*)?$/.exec(p)
    if (m === null) return p
    p = `${m[1] ?? ''}${m[2] ?? ''}`
  }
}

function snapshots (devices: readonly SimDevice[]): Array<[string, string][]> {
  return devices.map(d => [...d.snapshot().entries()])
}

function describeDisk (device: SimDevice): string {
  return [...device.snapshot().entries()].map(([p, c]) => `${p}=${c}`).join(' ')
}

// --- properties over random histories -----------------------------------------------------------

describe('planner on random histories (simulated devices)', () => {
  it('every device ends identical with nothing left to do', () => {
    fc.assert(fc.property(history, ({ devices, tickMs, ops }) => {
      const result = runHistory(ops, { devices, tickMs })
      for (const d of result.devices) {
        d.checkDiskMatchesRecords()
        expect(d.planActions()).toEqual([])
      }
      const [first, ...rest] = snapshots(result.devices)
      for (const s of rest) expect(s).toEqual(first)
    }), { seed: SEED, numRuns: NUM_RUNS })
  })

  it('never drops a version that no later user operation replaced', () => {
    fc.assert(fc.property(history, ({ devices, tickMs, ops }) => {
      const { devices: sims, created } = runHistory(ops, { devices, tickMs })
      const userRecords = created.filter(c => c.origin === 'user').map(c => c.record)
      const disk = [...sims[0]!.snapshot().entries()]
      for (const w of userRecords) {
        if (w.deleted || w.type !== 'file') continue
        const replaced = userRecords.some(u => u.path === w.path && compareVersions(u.version, w.version) === 'greater')
        if (replaced) continue
        const content = contentIdOf(w)
        const kept = disk.some(([p, c]) => c === content && (p === w.path || (isConflictCopy(p) && originalName(p) === w.path)))
        expect(kept, `${content} written at ${w.path} by ${w.device} (${JSON.stringify(w.version)}) is gone; disk: ${describeDisk(sims[0]!)}`).toBe(true)
      }
    }), { seed: SEED + 1, numRuns: NUM_RUNS })
  })
})

// --- concurrent edits ---------------------------------------------------------------------------

describe('concurrent edits', () => {
  const scenario = fc.record({
    editors: fc.constantFrom<[number, number]>([0, 1], [0, 2], [1, 2], [1, 0], [2, 0], [2, 1]),
    withBase: fc.boolean(),
    tickMs,
    path: fc.constantFrom('a', 'd/c', 'notes.txt'),
    syncs: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })).filter(([a, b]) => a !== b), { maxLength: 12 })
  })

  it('leave both versions: the winner keeps the name, the loser one conflict copy', () => {
    fc.assert(fc.property(scenario, ({ editors: [e1, e2], withBase, tickMs, path, syncs }) => {
      const devices = createDevices(3, { tickMs })
      const first = devices[e1]!
      const second = devices[e2]!
      if (withBase) {
        devices[0]!.userWrite(path, 'base')
        settle(devices)
      }
      // partitioned: nobody syncs between the two edits and the first sync below
      first.userWrite(path, 'first-edit')
      second.userWrite(path, 'second-edit')
      const edits = [first.own.get(path)!, second.own.get(path)!]
      expect(compareVersions(edits[0]!.version, edits[1]!.version)).toBe('concurrent')
      for (const [from, to] of syncs) syncOnce(devices[from]!, devices[to]!)
      settle(devices)

      // the planner's rule for concurrent live versions: newer mtime, then larger device id
      const [winner] = [...edits].sort((x, y) => y.mtimeMs - x.mtimeMs || (y.modifiedBy > x.modifiedBy ? 1 : -1))
      if (winner === undefined) throw new Error('no edits')
      const winnerContent = contentIdOf(winner)
      const loserContent = winnerContent === 'first-edit' ? 'second-edit' : 'first-edit'
      for (const d of devices) {
        const disk = [...d.snapshot().entries()]
        expect(d.disk.get(path), d.id).toBe(winnerContent)
        const copies = disk.filter(([p]) => CONFLICT_NAME.test(p))
        expect(copies.map(([, c]) => c), d.id).toEqual([loserContent])
        expect(originalName(copies[0]![0])).toBe(path)
        expect(disk.filter(([, c]) => c === 'base')).toEqual([])
      }
    }), { seed: SEED + 2, numRuns: NUM_RUNS_TARGETED })
  })

  it('a write that equals a peer\'s concurrent write survives that peer\'s later delete', () => {
    // the peer never saw our write: its delete is concurrent with it, and a live entry wins
    const [a, b] = createDevices(2)
    a!.userWrite('d/c', 'same')
    b!.userWrite('d/c', 'same')
    syncOnce(b!, a!) // a adopts b's version (later mtime, equal content)
    expect(a!.own.get('d/c')?.modifiedBy).toBe(b!.id)
    b!.userDelete('d')
    settle([a!, b!])
    for (const d of [a!, b!]) expect([...d.snapshot().entries()], d.id).toEqual([['d', 'dir'], ['d/c', 'same']])
  })

  it('two versions by one device within one second both survive as conflict copies', () => {
    // c saves twice within a second; a has only the first save; b's concurrent edit beats both:
    // a keeps the first save and c the second, both under the same one-second conflict name
    const [a, b, c] = createDevices(3, { tickMs: 250 })
    c!.userWrite('b', 'first-save')
    syncOnce(c!, a!)
    c!.userWrite('b', 'second-save')
    b!.userWrite('b', 'edit')
    settle([a!, b!, c!])
    for (const d of [a!, b!, c!]) {
      const disk = [...d.snapshot().entries()]
      expect(d.disk.get('b'), d.id).toBe('edit')
      expect(disk.filter(([p]) => isConflictCopy(p)).map(([, content]) => content).sort(), d.id).toEqual(['first-save', 'second-save'])
    }
  })

  it('an edit concurrent with a delete keeps the edit, whichever came later', () => {
    for (const deleteFirst of [true, false]) {
      const [a, b, c] = createDevices(3)
      a!.userWrite('d/c', 'base')
      settle([a!, b!, c!])
      if (deleteFirst) {
        a!.userDelete('d')
        b!.userWrite('d/c', 'edit')
      } else {
        b!.userWrite('d/c', 'edit')
        a!.userDelete('d')
      }
      syncOnce(a!, c!)
      syncOnce(c!, b!)
      settle([a!, b!, c!])
      for (const d of [a!, b!, c!]) {
        expect([...d.snapshot().entries()], `${d.id}, delete first: ${deleteFirst}`).toEqual([['d', 'dir'], ['d/c', 'edit']])
      }
    }
  })
})

// --- plain examples of the planner --------------------------------------------------------------

const encoder = new TextEncoder()
const LOCAL = '12D3KooWExampleLocal'
const PEER = '12D3KooWExamplePeerB'

function rec (fields: { path: string, device?: string, version: VersionVector, type?: 'file' | 'dir', deleted?: boolean, content?: string, mtimeMs?: number, modifiedBy?: string }): FileRecord {
  const type = fields.type ?? 'file'
  const bytes = encoder.encode(fields.content ?? fields.path)
  const live = type === 'file' && fields.deleted !== true
  return {
    folder: 'f',
    device: fields.device ?? PEER,
    seq: Math.max(...Object.values(fields.version), 1),
    path: fields.path,
    type,
    size: live ? bytes.byteLength : 0,
    mode: 0o644,
    mtimeMs: fields.mtimeMs ?? 1_700_000_000_000,
    deleted: fields.deleted ?? false,
    modifiedBy: fields.modifiedBy ?? fields.device ?? PEER,
    version: fields.version,
    blocks: live ? [{ cid: blockCid(bytes), size: bytes.byteLength }] : []
  }
}

function byPath (records: readonly FileRecord[]): Map<string, FileRecord> {
  return new Map(records.map(r => [r.path, r]))
}

function remoteOf (records: readonly FileRecord[]): Map<string, FileRecord[]> {
  const m = new Map<string, FileRecord[]>()
  for (const r of records) m.set(r.path, [...(m.get(r.path) ?? []), r])
  return m
}

describe('planner examples', () => {
  it('fetches a file that only a peer has', () => {
    const r = rec({ path: 'a', version: { [PEER]: 1 } })
    expect(plan({ local: new Map(), remote: remoteOf([r]) })).toEqual([{ kind: 'fetch', path: 'a', record: r }])
  })

  it('adopts a concurrent version with equal content under the merged vector instead of calling it a conflict', () => {
    const mine = rec({ path: 'a', device: LOCAL, version: { [LOCAL]: 1 }, content: 'same', mtimeMs: 1 })
    const theirs = rec({ path: 'a', version: { [PEER]: 1 }, content: 'same', mtimeMs: 2 })
    expect(plan({ local: byPath([mine]), remote: remoteOf([theirs]) })).toEqual([
      { kind: 'adopt', path: 'a', record: { ...theirs, version: { [LOCAL]: 1, [PEER]: 1 } } }
    ])
  })

  it('adopts a dominating version with equal content as it is', () => {
    const mine = rec({ path: 'a', device: LOCAL, version: { [PEER]: 1 }, content: 'same' })
    const theirs = rec({ path: 'a', version: { [PEER]: 2 }, content: 'same', mtimeMs: 5 })
    expect(plan({ local: byPath([mine]), remote: remoteOf([theirs]) })).toEqual([{ kind: 'adopt', path: 'a', record: theirs }])
  })

  it('deletes files before their directories, deepest first', () => {
    const lives = [
      rec({ path: 'd', device: LOCAL, type: 'dir', version: { [PEER]: 1 } }),
      rec({ path: 'd/x', device: LOCAL, type: 'dir', version: { [PEER]: 2 } }),
      rec({ path: 'd/x/f', device: LOCAL, version: { [PEER]: 3 } }),
      rec({ path: 'd/c', device: LOCAL, version: { [PEER]: 4 } }),
      rec({ path: 'z', device: LOCAL, version: { [PEER]: 5 } })
    ]
    const tombstones = lives.map(l => rec({ path: l.path, type: l.type, deleted: true, version: { [PEER]: (l.version[PEER] ?? 0) + 10 } }))
    const actions = plan({ local: byPath(lives), remote: remoteOf(tombstones) })
    expect(actions.map(a => `${a.kind} ${a.path}`)).toEqual(['delete d/x/f', 'delete d/c', 'delete z', 'delete d/x', 'delete d'])
  })

  it('creates directories shallow first, before the files that go into them', () => {
    const remote = [
      rec({ path: 'p/q/r', type: 'dir', version: { [PEER]: 3 } }),
      rec({ path: 'p/q/r/f', version: { [PEER]: 4 } }),
      rec({ path: 'p', type: 'dir', version: { [PEER]: 1 } }),
      rec({ path: 'p/q', type: 'dir', version: { [PEER]: 2 } })
    ]
    const actions = plan({ local: new Map(), remote: remoteOf(remote) })
    expect(actions.map(a => `${a.kind} ${a.path}`)).toEqual(['mkdir p', 'mkdir p/q', 'mkdir p/q/r', 'fetch p/q/r/f'])
  })

  it('does nothing when every version is equal', () => {
    const version = { [LOCAL]: 2, [PEER]: 1 }
    const mine = [rec({ path: 'a', device: LOCAL, version }), rec({ path: 'd', device: LOCAL, type: 'dir', version })]
    const theirs = mine.map(r => ({ ...r, device: PEER, seq: 9 }))
    expect(plan({ local: byPath(mine), remote: remoteOf(theirs) })).toEqual([])
  })
})
