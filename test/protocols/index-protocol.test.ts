import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { streamPair } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey, Stream } from '@libp2p/interface'
import { serveIndex, subscribeIndex, type IndexServerComponents } from '../../protocols/index/index-protocol.ts'
import { DEFAULT_MAX_RECORDS_PER_BATCH } from '../../protocols/index/constants.ts'
import { RemoteError } from '../../protocols/wire/errors.ts'
import { FolderStore, type LocalChange } from '../../src/store/folder-store.ts'
import { openSignedRecord, signRecord } from '../../src/log/signed-record.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import type { FerryError } from '../../src/errors.ts'

const FOLDER = 'folder-test'
const log = logger('test')

let keyA: PrivateKey
let keyB: PrivateKey
let keyC: PrivateKey
let idA: string
let idB: string
let idC: string

let dir: string
let db: ClassicLevel<string, Uint8Array>
let storeA: FolderStore

function fileChange (path: string, blockCount = 2): LocalChange {
  const blocks = Array.from({ length: blockCount }, () => {
    const data = new Uint8Array(randomBytes(64))
    return { cid: blockCid(data), size: data.byteLength }
  })
  return {
    path,
    type: 'file',
    size: blocks.reduce((n, b) => n + b.size, 0),
    mode: 0o644,
    mtimeMs: 1_700_000_000_000,
    deleted: false,
    blocks
  }
}

beforeEach(async () => {
  if (keyA === undefined) {
    keyA = await generateKeyPair('Ed25519')
    keyB = await generateKeyPair('Ed25519')
    keyC = await generateKeyPair('Ed25519')
    idA = peerIdFromPrivateKey(keyA).toString()
    idB = peerIdFromPrivateKey(keyB).toString()
    idC = peerIdFromPrivateKey(keyC).toString()
  }
  dir = await mkdtemp(join(tmpdir(), 'ferry-index-test-'))
  db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
  await db.open()
  const sub = db.sublevel<string, Uint8Array>('f:test', { valueEncoding: 'view' })
  storeA = new FolderStore({ db: sub, folder: FOLDER, self: idA, key: keyA })
  await storeA.open()
})

afterEach(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

/** The client side of a test: collects verified records and synced events. */
class Subscriber {
  readonly records: FileRecord[] = []
  readonly batches: number[] = []
  synced = 0
  private waiters: Array<() => void> = []
  readonly done: Promise<unknown>

  constructor (stream: Stream, positions: Record<string, number>) {
    this.done = subscribeIndex(stream, FOLDER, positions, {
      onRecords: async (list) => {
        this.batches.push(list.length)
        for (const [bytes, signature] of list) this.records.push((await openSignedRecord(bytes, signature)).record)
        this.poke()
      },
      onSynced: () => { this.synced++; this.poke() }
    }).then(() => { throw new Error('subscribeIndex resolved') }, (err: unknown) => err)
  }

  private poke (): void {
    const w = this.waiters
    this.waiters = []
    for (const fn of w) fn()
  }

  async until (cond: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!cond()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the subscription')
      await new Promise<void>(resolve => {
        this.waiters.push(resolve)
        setTimeout(resolve, 50)
      })
    }
  }
}

function serverComponents (allowed = true): IndexServerComponents {
  return {
    folderStore: (peer, folder) => (allowed && peer === idB && folder === FOLDER) ? storeA : undefined,
    log
  }
}

async function endSubscription (client: Stream, sub: Subscriber, served: Promise<void>): Promise<void> {
  client.abort(new Error('test over'))
  const err = await sub.done
  expect(err).toBeInstanceOf(Error)
  await served
}

describe('index protocol', () => {
  it('sends the backlog in acknowledged batches, then synced, then pushes live changes', async () => {
    const total = DEFAULT_MAX_RECORDS_PER_BATCH * 2 + 100
    await storeA.commitLocal(Array.from({ length: total }, (_, i) => fileChange(`dir/file-${i}.txt`)))
    // a third device's records held by A are forwarded too; the subscriber's own are not
    const fromC = await signRecord({ ...fileChange('c.txt'), folder: FOLDER, device: idC, seq: 1, modifiedBy: idC, version: { [idC]: 1 } }, keyC)
    const fromB = await signRecord({ ...fileChange('b.txt'), folder: FOLDER, device: idB, seq: 1, modifiedBy: idB, version: { [idB]: 1 } }, keyB)
    expect(await storeA.acceptRemote([fromC, fromB])).toBe(2)

    const [client, server] = await streamPair()
    const served = serveIndex(server, idB, serverComponents())
    const sub = new Subscriber(client, {})

    await sub.until(() => sub.synced === 1)
    expect(sub.records).toHaveLength(total + 1)
    expect(sub.batches.length).toBeGreaterThanOrEqual(3)
    expect(sub.batches.every(n => n > 0 && n <= DEFAULT_MAX_RECORDS_PER_BATCH)).toBe(true)
    const fromA = sub.records.filter(r => r.device === idA)
    expect(fromA.map(r => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    expect(fromA.every(r => r.folder === FOLDER && r.type === 'file' && !r.deleted && r.blocks.length === 2)).toBe(true)
    expect(sub.records.filter(r => r.device === idC).map(r => r.path)).toEqual(['c.txt'])
    expect(sub.records.some(r => r.device === idB)).toBe(false)

    // a later local commit is pushed live, followed by another synced
    const [live] = await storeA.commitLocal([fileChange('live/new.bin', 3)])
    await sub.until(() => sub.synced === 2)
    expect(sub.records).toHaveLength(total + 2)
    const last = sub.records[sub.records.length - 1]!
    expect(last.path).toBe('live/new.bin')
    expect(last.seq).toBe(total + 1)
    expect(last.seq).toBe(live!.seq)
    expect(last.blocks.map(b => b.cid.toString())).toEqual(live!.blocks.map(b => b.cid.toString()))

    // an edit of an existing path is pushed as well
    await storeA.commitLocal([{ ...fileChange('dir/file-0.txt', 1), mode: 0o755 }])
    await sub.until(() => sub.synced === 3)
    const edit = sub.records[sub.records.length - 1]!
    expect(edit.path).toBe('dir/file-0.txt')
    expect(edit.seq).toBe(total + 2)
    expect(edit.version[idA]).toBe(total + 2)

    await endSubscription(client, sub, served)
  })

  it('a subscription to a folder the peer may not read gets RemoteError ERR_FERRY_NOT_MEMBER', async () => {
    await storeA.commitLocal([fileChange('secret.txt')])
    const [client, server] = await streamPair()
    const served = serveIndex(server, idB, serverComponents(false))
    const sub = new Subscriber(client, {})
    const err = await sub.done as FerryError
    await served
    expect(err).toBeInstanceOf(RemoteError)
    expect(err.name).toBe('RemoteError')
    expect(err.code).toBe('ERR_FERRY_NOT_MEMBER')
    expect(sub.records).toHaveLength(0)
    expect(sub.synced).toBe(0)
  })

  it('a subscription for another folder id is refused the same way', async () => {
    const [client, server] = await streamPair()
    const served = serveIndex(server, idB, serverComponents())
    const done = subscribeIndex(client, 'no-such-folder', {}, { onRecords: async () => {}, onSynced: () => {} })
    const err = await done.then(() => undefined, (e: unknown) => e as FerryError)
    await served
    expect(err?.code).toBe('ERR_FERRY_NOT_MEMBER')
  })

  it('a member asking for a folder not served now (paused) gets ERR_FERRY_FOLDER_UNAVAILABLE, not a removal', async () => {
    const [client, server] = await streamPair()
    const served = serveIndex(server, idB, { folderStore: () => undefined, unavailable: (peer, folder) => peer === idB && folder === FOLDER, log })
    const err = await new Subscriber(client, {}).done as FerryError
    await served
    expect(err).toBeInstanceOf(RemoteError)
    expect(err.code).toBe('ERR_FERRY_FOLDER_UNAVAILABLE')
    // a non-member still learns nothing more than before
    const [client2, server2] = await streamPair()
    const served2 = serveIndex(server2, 'someone-else', { folderStore: () => undefined, unavailable: (peer) => peer === idB, log })
    const err2 = await new Subscriber(client2, {}).done as FerryError
    await served2
    expect(err2.code).toBe('ERR_FERRY_NOT_MEMBER')
  })

  it('positions {A: n} only yield records after n', async () => {
    await storeA.commitLocal(Array.from({ length: 10 }, (_, i) => fileChange(`f${i}`)))
    const [client, server] = await streamPair()
    const served = serveIndex(server, idB, serverComponents())
    const sub = new Subscriber(client, { [idA]: 6 })
    await sub.until(() => sub.synced === 1)
    expect(sub.records.map(r => r.seq)).toEqual([7, 8, 9, 10])
    expect(sub.records.map(r => r.path)).toEqual(['f6', 'f7', 'f8', 'f9'])
    await endSubscription(client, sub, served)
  })

  it('a subscriber that is up to date gets synced with no records', async () => {
    await storeA.commitLocal(Array.from({ length: 3 }, (_, i) => fileChange(`f${i}`)))
    const [client, server] = await streamPair()
    const served = serveIndex(server, idB, serverComponents())
    const sub = new Subscriber(client, { [idA]: 3 })
    await sub.until(() => sub.synced === 1)
    expect(sub.records).toHaveLength(0)
    expect(sub.batches).toHaveLength(0)
    await endSubscription(client, sub, served)
  })
})
