import { describe, expect, it, beforeEach, afterEach } from 'vitest'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, writeFile, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { streamPair } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { serveReplica, ReplicaClient, REPLICA_PROTOCOL_V2, REPLICA_PROTOCOL_V3, type ReplicaServerComponents } from '../../protocols/replica/index.ts'
import { RemoteError } from '../../protocols/wire/errors.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { signRecord, type SignedRecord } from '../../src/log/signed-record.ts'
import { deviceIdOf } from '../../src/identity/device-key.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { RelayStore } from '../../relay/store/relay-store.ts'
import { collectGarbage } from '../../relay/store/garbage-collector.ts'
import { verifyRelay } from '../../relay/store/verify.ts'
import { rejection } from '../helpers/async-checks.ts'
import { signMemberList } from '../../src/access/member-list.ts'

const FOLDER = 'docs'
const log = logger('test')

interface Device { key: PrivateKey, id: string }
async function device (): Promise<Device> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: deviceIdOf(key) }
}

function block (size = 100 * 1024): { cid: ReturnType<typeof blockCid>, data: Uint8Array } {
  const data = new Uint8Array(randomBytes(size))
  return { cid: blockCid(data), data }
}

async function fileRecord (d: Device, seq: number, path: string, blocks: Array<{ cid: ReturnType<typeof blockCid>, data: Uint8Array }>): Promise<SignedRecord> {
  const r: FileRecord = {
    folder: FOLDER, device: d.id, seq, path, type: 'file', mode: 0o644, mtimeMs: 1_700_000_000_000 + seq, deleted: false,
    size: blocks.reduce((n, b) => n + b.data.byteLength, 0), modifiedBy: d.id, version: { [d.id]: seq },
    blocks: blocks.map(b => ({ cid: b.cid, size: b.data.byteLength }))
  }
  return await signRecord(r, d.key)
}

describe('replica protocol against a real relay store', () => {
  let home: string
  let relay: RelayStore
  let hungUp: Error[]
  let a: Device

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'ferry-replica-'))
    const key = await generateKeyPair('Ed25519')
    relay = new RelayStore({ home, self: deviceIdOf(key) })
    await relay.open()
    hungUp = []
    a = await device()
    // the relay holds the folder once a writer's signed member list names it
    await relay.putMemberList(await signMemberList({ folder: FOLDER, version: 1, members: { [a.id]: 'write' } }, a.key, a.id), a.id)
  })
  afterEach(async () => {
    await relay.close()
    await rm(home, { recursive: true, force: true })
  })

  function components (member = true): ReplicaServerComponents {
    return {
      openFolder: async (peer, folder) => member ? relay.replicaFolder(folder, peer) : undefined,
      hangUp: (_peer, reason) => { hungUp.push(reason) },
      log
    }
  }

  async function session (member = true): Promise<{ client: ReplicaClient, served: Promise<void> }> {
    const [c, s] = await streamPair()
    const served = serveReplica(s, a.id, components(member))
    return { client: await ReplicaClient.open(c, FOLDER), served }
  }

  it('uploads only the blocks the relay lacks, then records; a second session finds nothing to send', async () => {
    const blocks = Array.from({ length: 40 }, () => block())
    const rec = await fileRecord(a, 1, 'f.bin', blocks)
    // the relay already holds 10 of them
    for (const b of blocks.slice(0, 10)) await relay.putBlock(FOLDER, a.id, b.cid, b.data)
    const { client, served } = await session()
    expect(client.positions).toEqual({})
    const lacking = await client.lacking(blocks.map(b => b.cid))
    expect(lacking.map(String)).toEqual(blocks.slice(10).map(b => b.cid.toString()))
    const acked: string[] = []
    const byCid = new Map(blocks.map(b => [b.cid.toString(), b]))
    const unreadable = await client.sendBlocks(lacking.map(cid => ({ cid, size: byCid.get(cid.toString())!.data.byteLength })),
      async b => byCid.get(b.cid.toString())!.data, b => acked.push(b.cid.toString()))
    expect(unreadable).toEqual([])
    expect(acked).toEqual(lacking.map(String))
    await client.sendRecords([rec])
    await client.close()
    await served
    expect(hungUp).toEqual([])

    const again = await session()
    expect(again.client.positions).toEqual({ [a.id]: 1 })
    expect(await again.client.lacking(blocks.map(b => b.cid))).toEqual([])
    await again.client.close()
    await again.served
    const report = await verifyRelay(relay)
    expect(report).toMatchObject({ ok: true, blocks: 40, records: 1, missingBlocks: 0 })
  })

  it('refuses a block that does not match its cid and cuts the uploader off', async () => {
    const b = block()
    const { client, served } = await session()
    const bad = new Uint8Array(b.data)
    bad[0]! ^= 1
    await rejection(client.sendBlocks([{ cid: b.cid, size: bad.byteLength }], async () => bad, () => {}))
    await served
    expect(hungUp.map(e => e.name)).toEqual(['BlockHashMismatchError'])
    expect(await relay.blocks.has(b.cid)).toBe(false)
  })

  it('refuses a forged record and cuts the uploader off', async () => {
    const rec = await fileRecord(a, 1, 'x.txt', [block(10)])
    const forged: SignedRecord = { ...rec, signature: new Uint8Array(rec.signature.map((x, i) => i === 0 ? x ^ 1 : x)) }
    const { client, served } = await session()
    await rejection(client.sendRecords([forged]))
    await served
    expect(hungUp.map(e => e.name)).toEqual(['ForgedRecordError'])
    expect(relay.folder(FOLDER)!.log.positionVector()).toEqual({})
  })

  it('answers a device that may not replicate the folder with an error', async () => {
    const [c, s] = await streamPair()
    const served = serveReplica(s, a.id, components(false))
    const err = await rejection(ReplicaClient.open(c, FOLDER))
    expect(err).toBeInstanceOf(RemoteError)
    expect(err.code).toBe('ERR_FERRY_NOT_MEMBER')
    await served
    expect(relay.folder(FOLDER)!.log.positionVector()).toEqual({})
  })

  it('keeps superseded records as history; gc drops them after retention, with blocks no longer referenced', async () => {
    const v1 = block()
    const v2 = block()
    for (const b of [v1, v2]) await relay.putBlock(FOLDER, a.id, b.cid, b.data)
    await relay.putRecords(FOLDER, [await fileRecord(a, 1, 'doc.txt', [v1])])
    await relay.putRecords(FOLDER, [await fileRecord(a, 2, 'doc.txt', [v2])])
    const f = relay.folder(FOLDER)!
    const history = []
    for await (const h of relay.history(f)) history.push(h)
    expect(history).toHaveLength(1)
    expect((await verifyRelay(relay)).history).toBe(1)

    // within retention: everything is kept (the grace period is off here)
    let r = await collectGarbage(relay, { retentionMs: 60_000, graceMs: 0 })
    expect(r).toMatchObject({ expiredRecords: 0, deletedBlocks: 0 })
    expect(await relay.blocks.has(v1.cid)).toBe(true)
    // past retention: the old record goes, and v1's block with it; v2 stays
    r = await collectGarbage(relay, { retentionMs: 60_000, graceMs: 0, nowMs: Date.now() + 120_000 })
    expect(r).toMatchObject({ expiredRecords: 1, deletedBlocks: 1, freedBytes: v1.data.byteLength })
    expect(await relay.blocks.has(v1.cid)).toBe(false)
    expect(await relay.blocks.has(v2.cid)).toBe(true)
  })

  it('gc spares unreferenced blocks younger than the grace period, and blocks a device was just told the relay holds', async () => {
    const orphan = block()
    await relay.putBlock(FOLDER, a.id, orphan.cid, orphan.data)
    expect((await collectGarbage(relay, { retentionMs: 0 })).deletedBlocks).toBe(0)
    const old = new Date(Date.now() - 48 * 60 * 60 * 1000)
    await utimes(relay.blocks.pathOf(orphan.cid), old, old)
    // a `has` query touches it: it is about to be referenced by a record
    expect(await relay.lacking(FOLDER, [orphan.cid])).toEqual([])
    expect((await collectGarbage(relay, { retentionMs: 0 })).deletedBlocks).toBe(0)
    await utimes(relay.blocks.pathOf(orphan.cid), old, old)
    expect((await collectGarbage(relay, { retentionMs: 0 })).deletedBlocks).toBe(1)
  })

  it('a restarted store drops half-written temp files and keeps acknowledged blocks', async () => {
    const b = block()
    await relay.putBlock(FOLDER, a.id, b.cid, b.data)
    await writeFile(join(home, 'relay', 'blocks', 'tmp', 'deadbeef.tmp'), 'half a block')
    await relay.close()
    const key = await generateKeyPair('Ed25519')
    relay = new RelayStore({ home, self: deviceIdOf(key) })
    await relay.open()
    expect(await readdir(join(home, 'relay', 'blocks', 'tmp'))).toEqual([])
    expect(Buffer.from((await relay.blocks.get(b.cid))!).equals(b.data)).toBe(true)
  })
})

describe('replica/3: a folder uploaded sealed', () => {
  it('drops what the relay held of it in plaintext, then refuses plaintext (replica/2) sessions for it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ferry-replica-sealed-'))
    const self = deviceIdOf(await generateKeyPair('Ed25519'))
    let relay = new RelayStore({ home, self })
    await relay.open()
    const sealed: unknown[] = []
    relay.onSealed = m => sealed.push(m)
    const a = await device()
    await relay.putMemberList(await signMemberList({ folder: FOLDER, version: 1, members: { [a.id]: 'write' } }, a.key, a.id), a.id)
    const hungUp: Error[] = []
    const components: ReplicaServerComponents = {
      openFolder: async (peer, folder, options) => await relay.replicaFolder(folder, peer, options),
      hangUp: (_peer, reason) => { hungUp.push(reason) },
      log
    }
    const session = async (protocol: string): Promise<{ client: ReplicaClient, served: Promise<void> }> => {
      const [c, s] = await streamPair()
      const served = serveReplica(s, a.id, components, { protocol })
      return { client: await ReplicaClient.open(c, FOLDER, { protocol }), served }
    }
    try {
      // an older device's plaintext upload
      const blocks = [block(), block()]
      const old = await session(REPLICA_PROTOCOL_V2)
      await old.client.sendBlocks(blocks.map(b => ({ cid: b.cid, size: b.data.byteLength })), async b => blocks.find(x => x.cid.equals(b.cid))!.data, () => {})
      await old.client.sendRecords([await fileRecord(a, 1, 'plain-name.txt', blocks)])
      await old.client.close()
      await old.served
      expect(await relay.blocks.has(blocks[0]!.cid)).toBe(true)

      // the first sealed session: the plaintext is gone, the position starts over
      const s3 = await session(REPLICA_PROTOCOL_V3)
      expect(s3.client.positions).toEqual({})
      await s3.client.close()
      await s3.served
      expect(sealed).toEqual([{ folder: FOLDER, records: 1, blocks: 2, bytes: blocks[0]!.data.byteLength + blocks[1]!.data.byteLength }])
      for (const b of blocks) expect(await relay.blocks.has(b.cid)).toBe(false)
      expect(relay.folder(FOLDER)!.log.positionVector()).toEqual({})

      // plaintext is refused from now on (and after a restart), without cutting the device off
      await relay.close()
      relay = new RelayStore({ home, self })
      await relay.open()
      const [c, s] = await streamPair()
      const served = serveReplica(s, a.id, components, { protocol: REPLICA_PROTOCOL_V2 })
      const err = await rejection(ReplicaClient.open(c, FOLDER, { protocol: REPLICA_PROTOCOL_V2 }))
      await served
      expect(err).toBeInstanceOf(RemoteError)
      expect((err as RemoteError).code).toBe('ERR_FERRY_SEALED_FOLDER')
      expect(hungUp).toEqual([])
    } finally {
      await relay.close()
      await rm(home, { recursive: true, force: true })
    }
  })
})
