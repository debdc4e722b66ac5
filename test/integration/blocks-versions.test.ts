import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode, decode } from 'cborg'
import type { Libp2p } from 'libp2p'
import { startLocalDaemon, startRogueNode } from '../helpers/in-process-nodes.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import type { PrivateKey } from '@libp2p/interface'
import type { Daemon } from '../../src/daemon/daemon.ts'
import { deviceAddCommand, folderAddCommand, initCommand, shareCommand } from '../../src/commands/index.ts'
import { signRecord } from '../../src/log/signed-record.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { INDEX_PROTOCOL_V1 } from '../../protocols/index/constants.ts'
import { BLOCKS_PROTOCOL_V2, BLOCKS_PROTOCOL_V1 } from '../../protocols/blocks/constants.ts'
import { decompressBlock } from '../../protocols/blocks/compression.ts'
import { waitFor } from '../helpers/ferry-process.ts'
import { csvText } from '../helpers/compressible-data.ts'

/**
 * A real daemon (in this process) against a hand-driven libp2p peer that speaks only
 * /ferry/blocks/1, as a ferry from before compression does, or /ferry/blocks/2 by hand.
 * Checks the version picked by multistream-select decides what goes on the wire.
 */
describe('/ferry/blocks/2 next to peers that only speak /ferry/blocks/1', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
    cleanups.length = 0
  })

  async function setup (files: Record<string, Uint8Array> = {}): Promise<{ daemon: Daemon, folder: string, peer: Libp2p, peerKey: PrivateKey }> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-v1-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const home = join(dir, 'home')
    const folder = join(dir, 'folder')
    await initCommand(home)
    await folderAddCommand(home, folder, 'docs')
    for (const [name, data] of Object.entries(files)) await writeFile(join(folder, name), data)
    const peerKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(peerKey).toString()
    await deviceAddCommand(home, peerId, { addrs: [] })
    await shareCommand(home, 'docs', peerId, { readOnly: false })
    const { daemon } = await startLocalDaemon(home, cleanups)
    const peer = await startRogueNode(peerKey, cleanups)
    return { daemon, folder, peer, peerKey }
  }

  it('the daemon fetches from a v1-only peer: no hello, raw blocks, the file arrives', async () => {
    const { daemon, folder, peer, peerKey } = await setup()
    const peerId = peerIdFromPrivateKey(peerKey).toString()
    const data = csvText(100 * 1024)
    const cid = blockCid(data, 'sha2-256') // a ferry that old names blocks by sha2-256
    const rec: FileRecord = { folder: 'docs', device: peerId, seq: 1, path: 'readings.csv', type: 'file', size: data.byteLength, mode: 0o644, mtimeMs: 1_700_000_000_000, deleted: false, modifiedBy: peerId, version: { [peerId]: 1 }, blocks: [{ cid, size: data.byteLength }] }
    const signed = await signRecord(rec, peerKey)
    await peer.handle(INDEX_PROTOCOL_V1, async (stream) => {
      const lp = lpStream(stream)
      await lp.read() // sub
      await lp.write(encode(['recs', [[signed.bytes, signed.signature]]]))
      await lp.read() // ack
      await lp.write(encode(['synced']))
      await new Promise(resolve => setTimeout(resolve, 30_000))
    })
    const firstMessages: string[] = []
    await peer.handle(BLOCKS_PROTOCOL_V1, async (stream) => {
      const lp = lpStream(stream)
      const want = decode((await lp.read()).subarray()) as [string, string, Uint8Array[]]
      firstMessages.push(want[0])
      await lp.write(encode(['blk', want[2][0]!, data]))
      await stream.close()
    })
    await peer.dial(multiaddr(daemon.status().listenAddrs[0]!))
    await waitFor('the file to arrive', async () => await readFile(join(folder, 'readings.csv')).then(b => b.equals(data), () => false), 30_000)
    expect(firstMessages).toEqual(['want'])
  })

  it('the daemon serves raw blocks on /1 and compressed ones on /2 to a client that asks', async () => {
    const data = csvText(200 * 1024)
    const cid = blockCid(data)
    const { daemon, peer } = await setup({ 'readings.csv': data })
    await waitFor('the daemon has scanned', () => daemon.status().folders[0]!.localFiles === 1, 30_000)
    const target = multiaddr(daemon.status().listenAddrs[0]!)

    const v1 = await peer.dialProtocol(target, BLOCKS_PROTOCOL_V1)
    const lp1 = lpStream(v1)
    await lp1.write(encode(['want', 'docs', [cid.bytes]]))
    const raw = decode((await lp1.read()).subarray()) as [string, Uint8Array, Uint8Array]
    expect(raw[0]).toBe('blk')
    expect(Buffer.from(raw[2]).equals(data)).toBe(true)
    await v1.close()

    const v2 = await peer.dialProtocol(target, [BLOCKS_PROTOCOL_V2, BLOCKS_PROTOCOL_V1])
    expect(v2.protocol).toBe(BLOCKS_PROTOCOL_V2)
    const lp2 = lpStream(v2)
    await lp2.write(encode(['hello', ['br', 'gzip']]))
    await lp2.write(encode(['want', 'docs', [cid.bytes]]))
    const z = decode((await lp2.read()).subarray()) as [string, Uint8Array, 'br', Uint8Array]
    expect(z[0]).toBe('zblk')
    expect(z[2]).toBe('br')
    expect(z[3].byteLength).toBeLessThan(data.byteLength / 2)
    expect(blockCid(await decompressBlock('br', z[3], data.byteLength)).equals(cid)).toBe(true)
    await v2.close()

    // a hello on /1 is not part of that protocol: the stream is reset
    const bad = await peer.dialProtocol(target, BLOCKS_PROTOCOL_V1)
    const lp3 = lpStream(bad)
    await lp3.write(encode(['hello', ['zstd']]))
    await expect(lp3.read()).rejects.toThrow()
  })
})
