import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode } from 'cborg'
import { decodePairingCode, encodePairingCode } from '../../src/sharing/pairing-code.ts'
import { Invitations } from '../../src/sharing/invitations.ts'
import { decodeJoinMessage, encodeJoinMessage } from '../../protocols/join/index.ts'
import { localChanges } from '../../src/sync/local-changes.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { rejection } from '../helpers/async-checks.ts'

const A = '12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5'
const B = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const secret = new Uint8Array(32).fill(7)

describe('pairing code', () => {
  it('round-trips, with and without a relay', () => {
    const c = { folder: 'docs', device: A, addrs: ['/ip4/127.0.0.1/tcp/4001'], secret }
    expect(decodePairingCode(encodePairingCode(c))).toEqual(c)
    const r = { ...c, relay: '/dns4/relay.example/tcp/443' }
    expect(decodePairingCode(' ' + encodePairingCode(r) + '\n')).toEqual(r)
  })

  it('rejects anything else with ERR_FERRY_BAD_CODE', () => {
    const good = encodePairingCode({ folder: 'docs', device: A, addrs: [], secret })
    const bad = [
      'hello', good.slice(0, -4), good + '!', 'ferry1:',
      'ferry1:' + Buffer.from(encode([2, 'docs', A, [], '', secret])).toString('base64url'),
      'ferry1:' + Buffer.from(encode([1, '../x', A, [], '', secret])).toString('base64url'),
      'ferry1:' + Buffer.from(encode([1, 'docs', 'nope', [], '', secret])).toString('base64url'),
      'ferry1:' + Buffer.from(encode([1, 'docs', A, ['not an addr'], '', secret])).toString('base64url'),
      'ferry1:' + Buffer.from(encode([1, 'docs', A, [], '', secret.subarray(1)])).toString('base64url')
    ]
    for (const text of bad) {
      expect(() => decodePairingCode(text), text).toThrow(expect.objectContaining({ code: 'ERR_FERRY_BAD_CODE' }))
    }
  })
})

describe('join messages', () => {
  it('round-trip and bound their fields', () => {
    const join = { type: 'join' as const, folder: 'docs', secret, addrs: ['/ip4/127.0.0.1/tcp/1'] }
    expect(decodeJoinMessage(encodeJoinMessage(join) as [string, ...unknown[]])).toEqual(join)
    expect(() => decodeJoinMessage(['join', 'docs', secret.subarray(1), []])).toThrow(/secret/)
    expect(() => decodeJoinMessage(['join', 'docs', secret, new Array(17).fill('/ip4/1.2.3.4/tcp/1')])).toThrow(/addrs/)
    expect(() => decodeJoinMessage(['welcome', 'docs', 'owner'])).toThrow(/role/)
  })
})

describe('invitations', () => {
  let home: string
  beforeEach(async () => { home = await mkdtemp(join(tmpdir(), 'ferry-inv-')) })
  afterEach(async () => { await rm(home, { recursive: true, force: true }) })

  it('are one-time, expire, and keep only a hash of the secret (0600)', async () => {
    const book = new Invitations(home)
    await book.load()
    expect(book.admitsJoins()).toBe(false)
    const { secret: s } = await book.create('docs', 'read-only')
    expect(book.admitsJoins()).toBe(true)
    const file = join(home, 'invitations.json')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(await readFile(file, 'utf8')).not.toContain(Buffer.from(s).toString('hex'))
    expect((await rejection(book.redeem('docs', secret, B, async () => {}))).code).toBe('ERR_FERRY_INVITE_UNKNOWN')
    expect((await rejection(book.redeem('other', s, B, async () => {}))).code).toBe('ERR_FERRY_INVITE_UNKNOWN')
    let recorded = 0
    expect((await book.redeem('docs', s, B, async () => { recorded++ })).role).toBe('read-only')
    expect(recorded).toBe(1)
    // a reloaded book remembers that it was used
    const again = new Invitations(home)
    await again.load()
    expect((await rejection(again.redeem('docs', s, A, async () => { recorded++ }))).code).toBe('ERR_FERRY_INVITE_USED')
    expect(recorded).toBe(1)
    const { secret: short } = await again.create('docs', 'read-write', 1)
    await new Promise(resolve => setTimeout(resolve, 5))
    expect((await rejection(again.redeem('docs', short, A, async () => {}))).code).toBe('ERR_FERRY_INVITE_EXPIRED')
    // still let in for a while after, to be told why; not a day later
    expect(again.admitsJoins()).toBe(true)
    expect(again.admitsJoins(Date.now() + 2 * 3600_000)).toBe(false)
  })
})

describe('localChanges', () => {
  const cid = blockCid(new Uint8Array([1, 2, 3]))
  const other = blockCid(new Uint8Array([4]))
  let seq = 0
  const rec = (device: string, path: string, version: Record<string, number>, opts: { deleted?: boolean, content?: typeof cid } = {}): FileRecord => ({
    folder: 'docs', device, seq: ++seq, path, type: 'file', size: opts.deleted === true ? 0 : 3, mode: 0o644, mtimeMs: 1, deleted: opts.deleted ?? false,
    modifiedBy: device, version, blocks: opts.deleted === true ? [] : [{ cid: opts.content ?? cid, size: 3 }]
  })

  it('counts our own versions the others have not got, but not downloads still to come', () => {
    const own = new Map<string, FileRecord>([
      ['same', rec(B, 'same', { [A]: 1 })],
      ['behind', rec(B, 'behind', { [A]: 1 })], // a's newer version is on its way
      ['edited', rec(B, 'edited', { [A]: 1, [B]: 5 }, { content: other })],
      ['mine', rec(B, 'mine', { [B]: 6 })],
      ['gone', rec(B, 'gone', { [A]: 1, [B]: 7 }, { deleted: true })],
      ['agreed-delete', rec(B, 'agreed-delete', { [A]: 2 }, { deleted: true })],
      ['pending-delete', rec(B, 'pending-delete', { [A]: 1 })]
    ])
    const shared = new Map<string, FileRecord[]>([
      ['same', [rec(A, 'same', { [A]: 1 })]],
      ['behind', [rec(A, 'behind', { [A]: 2 }, { content: other })]],
      ['edited', [rec(A, 'edited', { [A]: 1 })]],
      ['gone', [rec(A, 'gone', { [A]: 1 })]],
      ['agreed-delete', [rec(A, 'agreed-delete', { [A]: 2 }, { deleted: true })]],
      ['pending-delete', [rec(A, 'pending-delete', { [A]: 2 }, { deleted: true })]]
    ])
    const out = localChanges({ paths: () => own.keys(), own: p => own.get(p), shared: p => shared.get(p) ?? [] })
    expect(out.map(c => [c.path, c.kind])).toEqual([['edited', 'changed'], ['gone', 'deleted'], ['mine', 'added']])
  })
})
