import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { encode } from 'cborg'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { FolderStore } from '../../src/store/folder-store.ts'
import { RecordLog, type StoredEnvelope } from '../../src/store/record-log.ts'
import { folderSublevel } from '../../src/store/keys.ts'
import { encodeSignedRecord, signRecord } from '../../src/log/signed-record.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { BlockRef, FileRecord } from '../../src/model/file-record.ts'

// The on-disk layout existing homes and relays hold, written out byte for byte here (not
// through src/store/keys.ts): a change to it must fail this test.
const seq16 = (n: number): string => String(n).padStart(16, '0')
const block = (fill: number): BlockRef => ({ cid: blockCid(new Uint8Array(10).fill(fill)), size: 10 })
const meta = { ino: 7, size: 10, mtimeNs: '1700000000000000000', mode: 0o644 }
const enc = new TextEncoder()

describe('the folder store on-disk layout', () => {
  let dir: string
  let db: ClassicLevel<string, Uint8Array>
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), `ferry-layout-${process.pid}-`))
    db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
    await db.open()
  })
  afterEach(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('writes records, history and scan cache under the same keys as before', async () => {
    const me = await generateKeyPair('Ed25519')
    const peer = await generateKeyPair('Ed25519')
    const meId = peerIdFromPrivateKey(me).toString()
    const peerId = peerIdFromPrivateKey(peer).toString()
    const store = new FolderStore({ db: folderSublevel(db, 'docs'), folder: 'docs', self: meId, key: me })
    await store.open()
    const change = { path: 'a.txt', type: 'file' as const, size: 10, mode: 0o644, mtimeMs: 1000, deleted: false, blocks: [block(1)] }
    await store.commitLocal([{ ...change, meta }])
    await store.commitLocal([{ ...change, blocks: [block(2)] }])
    const remote: FileRecord = { ...change, folder: 'docs', device: peerId, seq: 3, modifiedBy: peerId, version: { [peerId]: 3 } }
    await store.acceptRemote([await signRecord(remote, peer)])

    const keys = await db.keys().all()
    expect(keys.sort()).toEqual([
      `!f:docs!h:a.txt\0${meId}\0${seq16(1)}`,
      '!f:docs!m:a.txt',
      `!f:docs!r:${meId}:${seq16(2)}`,
      `!f:docs!r:${peerId}:${seq16(3)}`
    ].sort())
    expect(new TextDecoder().decode(await db.get('!f:docs!m:a.txt'))).toBe(JSON.stringify(meta))
  })

  it('reads a database written with the known keys and values', async () => {
    const me = await generateKeyPair('Ed25519')
    const meId = peerIdFromPrivateKey(me).toString()
    const record = (seq: number, fill: number): FileRecord => ({ folder: 'docs', device: meId, seq, path: 'a.txt', type: 'file', size: 10, mode: 0o644, mtimeMs: 1000 + seq, deleted: false, modifiedBy: meId, version: { [meId]: seq }, blocks: [block(fill)] })
    const v1 = await signRecord(record(1, 1), me)
    const v2 = await signRecord(record(2, 2), me)
    await db.put(`!f:docs!r:${meId}:${seq16(2)}`, encodeSignedRecord(v2))
    await db.put(`!f:docs!h:a.txt\0${meId}\0${seq16(1)}`, encode([5000, encodeSignedRecord(v1)]))
    await db.put('!f:docs!m:a.txt', enc.encode(JSON.stringify(meta)))

    const store = new FolderStore({ db: folderSublevel(db, 'docs'), folder: 'docs', self: meId, key: me })
    await store.open()
    expect(store.own('a.txt')).toEqual(v2.record)
    expect(store.positionVector()).toEqual({ [meId]: 2 })
    expect(store.meta('a.txt')).toEqual(meta)
    expect(store.blockLocations(block(2).cid)).toEqual([{ path: 'a.txt', offset: 0, size: 10 }])
    const history = await store.history('a.txt')
    expect(history.map(h => [h.record, h.supersededAtMs])).toEqual([[v1.record, 5000]])
    const after: FileRecord[] = []
    for await (const s of store.recordsAfter(meId, 0)) after.push(s.record)
    expect(after).toEqual([v2.record])

    // a scrub sees every entry stored where it belongs
    const log = new RecordLog({ db: folderSublevel(db, 'docs'), folder: 'docs', self: 'relay' })
    await log.open()
    const stored: StoredEnvelope[] = []
    for await (const s of log.storedRecords()) stored.push(s)
    for await (const s of log.storedHistory()) stored.push(s)
    expect(stored.map(s => s.storedAs(s.key.startsWith('h:') ? v1.record : v2.record))).toEqual([true, true])
    expect(stored[0]!.storedAs(v1.record)).toBe(false)
    expect(await log.expireHistory(t => t <= 5000)).toBe(1)
    expect(await db.keys().all()).not.toContain(`!f:docs!h:a.txt\0${meId}\0${seq16(1)}`)
  })
})
