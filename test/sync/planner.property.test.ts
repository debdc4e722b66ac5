import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import type { VersionVector } from '../../src/model/version-vector.ts'
import { plan } from '../../src/sync/planner.ts'

// Random multi-device histories (convergence, no version lost, concurrent edits) run on real
// daemons in test/sim/; here the planner alone, on plain records.

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

// --- properties on random plain records ---------------------------------------------------------

/** each path keeps one type here (type conflicts: planner-type-conflict.test.ts) */
const PATHS: Record<string, 'file' | 'dir'> = { a: 'file', d: 'dir', 'd/c': 'file', 'd/e': 'dir', 'd/e/f': 'file' }
const PEERS = [PEER, '12D3KooWExamplePeerC']

/** one record per path for `device`: random liveness, content and (small) version */
function recordsOf (device: string): fc.Arbitrary<FileRecord[]> {
  const one = (path: string): fc.Arbitrary<FileRecord | undefined> => fc.option(fc.record({
    deleted: fc.boolean(),
    content: fc.constantFrom('x', 'y'),
    mtimeMs: fc.integer({ min: 1, max: 3 }),
    version: fc.dictionary(fc.constantFrom(LOCAL, ...PEERS), fc.integer({ min: 1, max: 3 }), { minKeys: 1 })
  }).map(f => rec({ path, device, type: PATHS[path], ...f })), { nil: undefined })
  return fc.tuple(...Object.keys(PATHS).map(one)).map(rs => rs.filter((r): r is FileRecord => r !== undefined))
}

const planInput = fc.record({ local: recordsOf(LOCAL), remote: fc.tuple(...PEERS.map(recordsOf)).map(rs => rs.flat()) })
const depth = (p: string): number => p.split('/').length

/** a disk could hold it: every live entry's ancestors are live directories */
function consistent (records: readonly FileRecord[]): boolean {
  const live = new Map(records.filter(r => !r.deleted).map(r => [r.path, r.type]))
  return [...live.keys()].every(p => p.split('/').slice(0, -1).every((_, i, parts) => live.get(parts.slice(0, i + 1).join('/')) === 'dir'))
}

describe('planner on random records', () => {
  it('plans nothing when the peers hold exactly our versions', () => {
    fc.assert(fc.property(recordsOf(LOCAL), local => {
      fc.pre(consistent(local))
      const theirs = local.map(r => ({ ...r, device: PEER, seq: r.seq + 1 }))
      expect(plan({ local: byPath(local), remote: remoteOf(theirs) })).toEqual([])
    }), { seed: 20250314, numRuns: 500 })
  })

  it('one action per path at most, deletes deepest first, directories made shallow first, whatever order peers come in', () => {
    fc.assert(fc.property(planInput, ({ local, remote }) => {
      fc.pre(consistent(local))
      // equal versions are one version: records naming it alike
      const seen = new Map<string, string>()
      for (const r of [...local, ...remote]) {
        const key = `${r.path} ${JSON.stringify(Object.entries(r.version).sort())}`
        const what = `${r.type} ${String(r.deleted)} ${r.mtimeMs} ${r.modifiedBy} ${r.blocks.map(b => b.cid.toString()).join()}`
        fc.pre((seen.get(key) ?? what) === what)
        seen.set(key, what)
      }
      const actions = plan({ local: byPath(local), remote: remoteOf(remote) })
      const paths = actions.map(a => a.path)
      expect(new Set(paths).size).toBe(paths.length)
      // what lies below a directory is deleted before it, and a directory made before what goes in it
      const deletes = actions.filter(a => a.kind === 'delete').map(a => a.path)
      deletes.forEach((p, i) => { expect(deletes.slice(i + 1).filter(q => q.startsWith(`${p}/`))).toEqual([]) })
      const mkdirs = actions.filter(a => a.kind === 'mkdir').map(a => depth(a.path))
      expect(mkdirs).toEqual([...mkdirs].sort((x, y) => x - y))
      // (of two records with equal versions either may be named: compare what is done where)
      const reversed = plan({ local: byPath(local), remote: remoteOf([...remote].reverse()) })
      expect(reversed.map(a => `${a.kind} ${a.path}`)).toEqual(actions.map(a => `${a.kind} ${a.path}`))
    }), { seed: 20250315, numRuns: 1000 })
  })
})
