import { describe, expect, it } from 'vitest'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { conflictLabel, conflictPath, isConflictCopy, parseConflictPath } from '../../src/sync/conflict-name.ts'
import { plan, type Action } from '../../src/sync/planner.ts'
import { formatTable } from '../../src/cli/table.ts'
import { UploadTracker } from '../../src/daemon/upload-tracker.ts'
import { PeerPresence } from '../../src/daemon/peer-presence.ts'
import { folderHoldings, HoldingsCache, peerCompletion } from '../../src/daemon/peer-completion.ts'
import { FolderRemovals } from '../../src/daemon/folder-removals.ts'
import { folderState, relativeTime } from '../../src/cli/format-status.ts'
import type { DaemonStatus } from '../../src/daemon/status-types.ts'

const A = '12D3KooWDeviceAAAAAAA'
const B = '12D3KooWDeviceBBBBBBB'

function rec (device: string, seq: number, path: string, fields: Partial<FileRecord> & { version: Record<string, number> }): FileRecord {
  const blocks = [{ cid: blockCid(new TextEncoder().encode(`${path}@${device}:${seq}`)), size: 10 }]
  return { folder: 'f', device, seq, path, type: 'file', size: 10, mode: 0o644, mtimeMs: 1_000_000 + seq, deleted: false, modifiedBy: device, blocks, ...fields }
}

describe('conflict copies named after devices', () => {
  it('a name becomes a short file-name-safe label; no usable name falls back to the id tail', () => {
    expect(conflictLabel(A, 'Zoë\'s Laptop (2)')).toBe('zo-s-laptop-2')
    expect(conflictLabel(A, 'a-very-long-device-name-indeed')).toBe('a-very-long-devi')
    expect(conflictLabel(A, '---')).toBe(A.slice(-7))
    expect(conflictLabel(A, undefined)).toBe(A.slice(-7))
    expect(conflictLabel(A, 'x/../y.z')).toMatch(/^[a-z0-9-]{1,16}$/)
  })

  it('both forms are conflict copies and parse back to the original', () => {
    const byName = conflictPath('dir/report.txt', Date.UTC(2026, 0, 2, 3, 4, 5), A, conflictLabel(A, 'alice-laptop'))
    expect(byName).toBe('dir/report.sync-conflict-20260102-030405-alice-laptop.txt')
    const byId = conflictPath('dir/report.txt', Date.UTC(2026, 0, 2, 3, 4, 5), A)
    expect(byId).toBe(`dir/report.sync-conflict-20260102-030405-${A.slice(-7)}.txt`)
    for (const p of [byName, byId]) {
      expect(isConflictCopy(p)).toBe(true)
      expect(parseConflictPath(p)?.original).toBe('dir/report.txt')
    }
    expect(parseConflictPath(byName)?.shortDevice).toBe('alice-laptop')
  })

  it('the planner names the copy with the label it is given, and does not keep a version already kept under its id name', () => {
    const base = rec(B, 1, 'x.txt', { version: { [B]: 1 } })
    // A holds B's version (adopted); C's concurrent version wins
    const local = { ...base, device: A, seq: 2 }
    const winner = rec('12D3KooWDeviceCCCCCCC', 3, 'x.txt', { version: { '12D3KooWDeviceCCCCCCC': 3 }, mtimeMs: 9_000_000 })
    const label = (d: string): string => d === B ? 'bob' : d.slice(-7)
    const actions = plan({ local: new Map([[local.path, local]]), remote: new Map([['x.txt', [winner]]]), deviceLabel: label })
    const c = actions.find(a => a.kind === 'conflict') as Extract<Action, { kind: 'conflict' }>
    expect(c.conflictPath).toMatch(/^x\.sync-conflict-\d{8}-\d{6}-bob\.txt$/)
    // another device kept the same version under the id form: nothing more is kept here
    const keptById = { ...local, path: conflictPath('x.txt', local.mtimeMs, B), device: 'D', seq: 4 }
    const again = plan({ local: new Map([[local.path, local]]), remote: new Map([['x.txt', [winner]], [keptById.path, [keptById]]]), deviceLabel: label })
    expect(again.find(a => a.path === 'x.txt')?.kind).toBe('fetch')
  })
})

describe('status view parts', () => {
  it('formatTable pads columns and right-aligns numbers', () => {
    expect(formatTable([{ header: 'NAME' }, { header: 'N', align: 'right' }], [['a', '1'], ['longer', '100']], '  ')).toEqual([
      '  NAME      N',
      '  a         1',
      '  longer  100'
    ])
  })

  it('UploadTracker sums bytes per (peer, folder, file), gives a rate, forgets idle uploads', () => {
    const t = new UploadTracker({ idleMs: 10_000, maxEntries: 2 })
    t.served({ peer: 'p', folder: 'f', path: 'big', bytes: 1000 }, 0)
    t.served({ peer: 'p', folder: 'f', path: 'big', bytes: 1000 }, 1000)
    t.served({ peer: 'q', folder: 'f', path: 'big', bytes: 10 }, 1000)
    expect(t.list(2000)).toEqual([
      { peer: 'p', folder: 'f', path: 'big', bytes: 2000, bytesPerSecond: 1000, startedAt: 0, lastAt: 1000 },
      { peer: 'q', folder: 'f', path: 'big', bytes: 10, bytesPerSecond: 10, startedAt: 1000, lastAt: 1000 }
    ])
    // a third evicts the least recently active
    t.served({ peer: 'r', folder: 'f', path: 'x', bytes: 1 }, 3000)
    expect(t.list(3000).map(u => u.peer)).toEqual(['q', 'r'])
    expect(t.list(20_000)).toEqual([])
  })

  it('PeerPresence: now while connected, the close time after', () => {
    const p = new PeerPresence()
    expect(p.lastSeen('x', false, 5)).toBeUndefined()
    p.connected('x', 1)
    expect(p.lastSeen('x', true, 5)).toBe(5)
    p.disconnected('x', 7)
    expect(p.lastSeen('x', false, 100)).toBe(7)
  })

  it('peerCompletion: share of our live bytes whose version the peer holds', () => {
    const own = new Map([['a', rec(A, 1, 'a', { version: { [A]: 1 }, size: 300 })], ['b', rec(A, 2, 'b', { version: { [A]: 2 }, size: 100 })], ['gone', rec(A, 3, 'gone', { version: { [A]: 3 }, deleted: true })]])
    const src = folderHoldings({ ownRecords: () => own, holdersOf: (r: FileRecord) => r.path === 'a' ? [B] : [] })
    expect(peerCompletion([src], B)).toBe(75)
    expect(peerCompletion([src], 'other')).toBe(0)
    expect(peerCompletion([folderHoldings({ ownRecords: () => new Map(), holdersOf: () => [] })], B)).toBe(100)
    expect(peerCompletion([], B)).toBeUndefined()
  })

  it('HoldingsCache counts a folder again only once its count is a second old, and forgets folders gone', () => {
    let counts = 0
    let holds = false
    const own = new Map([['a', rec(A, 1, 'a', { version: { [A]: 1 }, size: 300 })]])
    const source = { ownRecords: () => { counts++; return own }, holdersOf: () => holds ? [B] : [] }
    const cache = new HoldingsCache(1_000)
    expect(peerCompletion([cache.of('f', source, 10_000)], B)).toBe(0)
    holds = true
    expect(peerCompletion([cache.of('f', source, 10_999)], B)).toBe(0)
    expect(counts).toBe(1)
    expect(peerCompletion([cache.of('f', source, 11_000)], B)).toBe(100)
    expect(counts).toBe(2)
    // a clock that went back counts again
    cache.of('f', source, 5_000)
    expect(counts).toBe(3)
    cache.keep(new Set(['other']))
    cache.of('f', source, 5_001)
    expect(counts).toBe(4)
  })

  it('FolderRemovals reports a removal once and forgets it when the member accepts us again', () => {
    const seen: string[] = []
    const r = new FolderRemovals((f, by) => seen.push(`${f}/${by}`))
    r.refused('docs', B, 10)
    r.refused('docs', B, 20)
    expect(seen).toEqual([`docs/${B}`])
    expect(r.of('docs')).toEqual({ by: B, since: 10 })
    expect(r.hasRefused('docs', B)).toBe(true)
    r.accepted('docs', B)
    expect(r.of('docs')).toBeUndefined()
  })

  it('folderState and relativeTime', () => {
    const f = { inSync: true, scanning: false, errorCount: 0 } as unknown as DaemonStatus['folders'][number]
    expect(folderState(f)).toBe('idle')
    expect(folderState({ ...f, inSync: false })).toBe('syncing')
    expect(folderState({ ...f, scanning: true })).toBe('scanning')
    expect(folderState({ ...f, errorCount: 2 })).toBe('error')
    expect(folderState({ ...f, removed: { by: B, since: 0 } })).toBe('removed')
    expect(folderState({ ...f, paused: true })).toBe('paused')
    expect(relativeTime(undefined, false, 0)).toBe('never')
    expect(relativeTime(0, true, 99_000)).toBe('now')
    expect(relativeTime(0, false, 42_000)).toBe('42 s ago')
    expect(relativeTime(0, false, 5 * 60_000)).toBe('5 min ago')
    expect(relativeTime(0, false, 3 * 3_600_000)).toBe('3 h ago')
  })
})
