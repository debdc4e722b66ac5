import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode, decode } from 'cborg'
import type { Libp2p } from 'libp2p'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import type { PrivateKey, Stream } from '@libp2p/interface'
import type { Daemon } from '../../src/daemon/daemon.ts'
import { deviceAddCommand, folderAddCommand, initCommand, shareCommand } from '../../src/commands/index.ts'
import { signRecord } from '../../src/log/signed-record.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { INDEX_PROTOCOL_V1 } from '../../protocols/index/constants.ts'
import { BLOCKS_PROTOCOL_V3 } from '../../protocols/blocks/constants.ts'
import { tempFiles, waitFor } from '../helpers/ferry-process.ts'
import { startLocalDaemon, startRogueNode } from '../helpers/in-process-nodes.ts'
import { csvText } from '../helpers/compressible-data.ts'
import { compressWith } from '../../protocols/blocks/compression.ts'

/**
 * A real ferry daemon (in this process) against a hand-driven libp2p peer that it trusts and
 * shares a folder with, but that misbehaves. The daemon must cut it off, store nothing, and
 * keep running.
 */
describe('a misbehaving member is cut off and never crashes the node', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
    cleanups.length = 0
  })

  async function setup (): Promise<{ daemon: Daemon, folder: string, rogue: Libp2p, rogueKey: PrivateKey, victim: string, lines: string[] }> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-rogue-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const home = join(dir, 'home')
    const folder = join(dir, 'folder')
    await initCommand(home)
    await folderAddCommand(home, folder, 'docs')
    const rogueKey = await generateKeyPair('Ed25519')
    const victimKey = await generateKeyPair('Ed25519')
    const rogueId = peerIdFromPrivateKey(rogueKey).toString()
    const victim = peerIdFromPrivateKey(victimKey).toString()
    for (const id of [rogueId, victim]) {
      await deviceAddCommand(home, id, { addrs: [] })
      await shareCommand(home, 'docs', id, { readOnly: false })
    }
    const { daemon, lines } = await startLocalDaemon(home, cleanups)
    const rogue = await startRogueNode(rogueKey, cleanups)
    return { daemon, folder, rogue, rogueKey, victim, lines }
  }

  function record (fields: Partial<FileRecord> & Pick<FileRecord, 'device' | 'path'>): FileRecord {
    return { folder: 'docs', seq: 1, type: 'file', size: 0, mode: 0o644, mtimeMs: 1_700_000_000_000, deleted: false, modifiedBy: fields.device, version: { [fields.device]: 1 }, blocks: [], ...fields }
  }

  /** The rogue answers the daemon's index subscription with `reply(stream)`. */
  async function serveIndex (rogue: Libp2p, reply: (stream: Stream) => Promise<void>): Promise<void> {
    await rogue.handle(INDEX_PROTOCOL_V1, async (stream) => {
      const lp = lpStream(stream)
      await lp.read() // the daemon's 'sub'
      await reply(stream)
    })
  }

  async function connect (daemon: Daemon, rogue: Libp2p): Promise<void> {
    const addr = daemon.status().listenAddrs[0]!
    await rogue.dial(multiaddr(addr))
  }

  const cutOff = async (rogue: Libp2p): Promise<void> => {
    await waitFor('the daemon to hang up', () => rogue.getConnections().length === 0, 15_000)
  }

  it('records signed by someone else than their device are rejected', async () => {
    const { daemon, folder, rogue, rogueKey, victim, lines } = await setup()
    // claims to be the victim's record, signed with the rogue's key
    const forged = await signRecord(record({ device: victim, path: 'forged.txt' }), rogueKey)
    await serveIndex(rogue, async stream => {
      await lpStream(stream).write(encode(['recs', [[forged.bytes, forged.signature]]]))
    })
    await connect(daemon, rogue)
    await cutOff(rogue)
    expect(lines.some(l => l.includes('cutting off') && l.includes('bad signature'))).toBe(true)
    expect(await readdir(folder)).toEqual(['.ferry'])
    expect(daemon.status().deviceId).toMatch(/^12D3KooW/)
  })

  it('garbage on the index protocol cuts the peer off', async () => {
    const { daemon, rogue, lines } = await setup()
    await serveIndex(rogue, async stream => {
      await lpStream(stream).write(new Uint8Array([0xff, 0x00, 0x13, 0x37]))
    })
    await connect(daemon, rogue)
    await cutOff(rogue)
    expect(lines.some(l => l.includes('cutting off') && l.includes('invalid message'))).toBe(true)
  })

  it('a block that does not match its CID is refused and the peer cut off', async () => {
    const { daemon, folder, rogue, rogueKey, lines } = await setup()
    const rogueId = peerIdFromPrivateKey(rogueKey).toString()
    const data = new TextEncoder().encode('the real content')
    const cid = blockCid(data)
    const honest = await signRecord(record({ device: rogueId, path: 'poisoned.txt', size: data.byteLength, blocks: [{ cid, size: data.byteLength }] }), rogueKey)
    await serveIndex(rogue, async stream => {
      const lp = lpStream(stream)
      await lp.write(encode(['recs', [[honest.bytes, honest.signature]]]))
      await lp.read() // ack
      await lp.write(encode(['synced']))
      await new Promise(resolve => setTimeout(resolve, 30_000))
    })
    await rogue.handle(BLOCKS_PROTOCOL_V3, async (stream) => {
      const lp = lpStream(stream)
      await lp.read() // want
      const wrong = new TextEncoder().encode('the fake content')
      await lp.write(encode(['blk', cid.bytes, wrong]))
    })
    await connect(daemon, rogue)
    await cutOff(rogue)
    expect(lines.some(l => l.includes('cutting off') && l.includes('does not match its hash'))).toBe(true)
    expect(await readdir(folder)).toEqual(['.ferry'])
    // a temp file may stay as a resume point, but the refused bytes never reached it
    for (const file of await tempFiles(folder)) {
      expect((await readFile(file, 'utf8')).includes('fake')).toBe(false)
    }
  })

  it('a compressed block that inflates past its declared size is refused and the peer cut off', async () => {
    const { daemon, folder, rogue, rogueKey, lines } = await setup()
    const rogueId = peerIdFromPrivateKey(rogueKey).toString()
    const data = csvText(64 * 1024)
    const cid = blockCid(data)
    const honest = await signRecord(record({ device: rogueId, path: 'readings.csv', size: data.byteLength, blocks: [{ cid, size: data.byteLength }] }), rogueKey)
    await serveIndex(rogue, async stream => {
      const lp = lpStream(stream)
      await lp.write(encode(['recs', [[honest.bytes, honest.signature]]]))
      await lp.read() // ack
      await lp.write(encode(['synced']))
      await new Promise(resolve => setTimeout(resolve, 30_000))
    })
    const bomb = await compressWith('gzip', new Uint8Array(16 * 1024 * 1024), 9)
    const seen: string[] = []
    await rogue.handle(BLOCKS_PROTOCOL_V3, async (stream) => {
      const lp = lpStream(stream)
      const hello = decode((await lp.read()).subarray()) as [string, string[]]
      seen.push(...hello[1])
      await lp.read() // want
      await lp.write(encode(['zblk', cid.bytes, 'gzip', bomb]))
    })
    await connect(daemon, rogue)
    await cutOff(rogue)
    expect(seen).toContain('gzip')
    expect(lines.some(l => l.includes('cutting off') && l.includes('inflates beyond'))).toBe(true)
    expect(await readdir(folder)).toEqual(['.ferry'])
  })
})
