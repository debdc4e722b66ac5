import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { encode, decode } from 'cborg'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { startLocalDaemon, startRogueNode } from '../helpers/in-process-nodes.ts'
import { deviceAddCommand, folderAddCommand, initCommand, shareCommand } from '../../src/commands/index.ts'
import { signRecord, openSignedRecord } from '../../src/log/signed-record.ts'
import { blockCid, blockHashOf } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { INDEX_PROTOCOL_V1 } from '../../protocols/index/constants.ts'
import { BLOCKS_PROTOCOL_V1 } from '../../protocols/blocks/constants.ts'
import { waitFor } from '../helpers/ferry-process.ts'

/**
 * A folder whose blocks are named by both hashes, between real daemons (in this process): A holds
 * a file it scanned itself (blake3) and one it got from a peer running a ferry from before
 * blake3 (sha2-256, over index/1 and blocks/1, driven by hand); B syncs both from A, every block
 * verified with the hash its id names. The old peer, subscribed to A on index/1, is sent no
 * record it would refuse, and is not cut off.
 */
describe('a folder with sha2-256 and blake3 blocks', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
    cleanups.length = 0
  })

  it('syncs between upgraded daemons, and an older peer still syncs with them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-hashes-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const [homeA, homeB, folderA, folderB] = ['homeA', 'homeB', 'folderA', 'folderB'].map(n => join(dir, n)) as [string, string, string, string]
    const idA = (await initCommand(homeA)).deviceId
    const idB = (await initCommand(homeB)).deviceId
    const oldKey = await generateKeyPair('Ed25519')
    const idOld = peerIdFromPrivateKey(oldKey).toString()
    await folderAddCommand(homeA, folderA, 'docs')
    await folderAddCommand(homeB, folderB, 'docs')
    const fresh = randomBytes(300 * 1024) // A's own file: blake3
    await writeFile(join(folderA, 'fresh.bin'), fresh)
    for (const id of [idB, idOld]) {
      await deviceAddCommand(homeA, id, { addrs: [] })
      await shareCommand(homeA, 'docs', id, { readOnly: false })
    }

    // the older peer: one file, named by sha2-256, offered on index/1 and served on blocks/1
    const legacy = randomBytes(150 * 1024)
    const legacyCid = blockCid(legacy, 'sha2-256')
    const rec: FileRecord = { folder: 'docs', device: idOld, seq: 1, path: 'legacy.bin', type: 'file', size: legacy.byteLength, mode: 0o644, mtimeMs: 1_700_000_000_000, deleted: false, modifiedBy: idOld, version: { [idOld]: 1 }, blocks: [{ cid: legacyCid, size: legacy.byteLength }] }
    const signed = await signRecord(rec, oldKey)
    const old = await startRogueNode(oldKey, cleanups)
    await old.handle(INDEX_PROTOCOL_V1, async (stream) => {
      const lp = lpStream(stream)
      await lp.read() // sub
      await lp.write(encode(['recs', [[signed.bytes, signed.signature]]]))
      await lp.read() // ack
      await lp.write(encode(['synced']))
      await new Promise(resolve => setTimeout(resolve, 60_000))
    })
    await old.handle(BLOCKS_PROTOCOL_V1, async (stream) => {
      const lp = lpStream(stream)
      const want = decode((await lp.read()).subarray()) as [string, string, Uint8Array[]]
      for (const c of want[2]) await lp.write(encode(['blk', c, legacy]))
      await stream.close()
    })

    const { daemon: a } = await startLocalDaemon(homeA, cleanups)
    const addrA = a.status().listenAddrs[0]!
    await old.dial(multiaddr(addrA))
    await waitFor('A has the old peer\'s file', async () => await readFile(join(folderA, 'legacy.bin')).then(b => b.equals(legacy), () => false), 60_000)

    // B, upgraded, syncs both files from A (A serves the sha2-256 block from its copy of legacy.bin)
    await deviceAddCommand(homeB, idA, { addrs: [addrA] })
    await shareCommand(homeB, 'docs', idA, { readOnly: false })
    await startLocalDaemon(homeB, cleanups)
    await waitFor('B has both files', async () => {
      const [f, l] = await Promise.all([readFile(join(folderB, 'fresh.bin')).catch(() => undefined), readFile(join(folderB, 'legacy.bin')).catch(() => undefined)])
      return f?.equals(fresh) === true && l?.equals(legacy) === true
    }, 60_000)

    // the old peer subscribes to A on index/1: A's record of fresh.bin names a blake3 block, so
    // A's log is held before it; the peer gets `synced` and is not cut off
    const stream = await old.dialProtocol(multiaddr(addrA), INDEX_PROTOCOL_V1)
    const lp = lpStream(stream)
    await lp.write(encode(['sub', 'docs', [[idOld, 1]]]))
    const received: FileRecord[] = []
    while (true) {
      const m = decode((await lp.read({ signal: AbortSignal.timeout(30_000) })).subarray()) as [string, ...unknown[]]
      if (m[0] === 'synced') break
      expect(m[0]).toBe('recs')
      for (const [bytes, sig] of m[1] as Array<[Uint8Array, Uint8Array]>) received.push((await openSignedRecord(bytes, sig)).record)
      await lp.write(encode(['ack']))
    }
    expect(received.flatMap(r => r.blocks).every(b => blockHashOf(b.cid) === 'sha2-256')).toBe(true)
    expect(received.some(r => r.path === 'fresh.bin')).toBe(false)
    expect(stream.status).toBe('open')
  })
})
