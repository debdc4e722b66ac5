import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode, decode } from 'cborg'
import type { Libp2p } from 'libp2p'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import type { PrivateKey } from '@libp2p/interface'
import type { Daemon } from '../../src/daemon/daemon.ts'
import { deviceAddCommand, folderAddCommand, initCommand, shareCommand } from '../../src/commands/index.ts'
import { signRecord } from '../../src/log/signed-record.ts'
import { INDEX_PROTOCOL_V2 } from '../../protocols/index/constants.ts'
import { segmentRecord } from '../../protocols/index/block-list-segments.ts'
import { waitFor } from '../helpers/ferry-process.ts'
import { startLocalDaemon, startRogueNode } from '../helpers/in-process-nodes.ts'
import { fileRecordOf, syntheticBlocks } from '../helpers/synthetic-records.ts'

/**
 * A real daemon (in this process) subscribes with /ferry/index/2 to a hand-driven member that
 * answers its `want` with a segment that is not the one announced: the daemon cuts it off,
 * stores nothing and keeps running.
 */
describe('a member sending a bad record delta is cut off', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
    cleanups.length = 0
  })

  async function setup (): Promise<{ daemon: Daemon, folder: string, rogue: Libp2p, rogueKey: PrivateKey, lines: string[] }> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-delta-rogue-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const home = join(dir, 'home')
    const folder = join(dir, 'folder')
    await initCommand(home)
    await folderAddCommand(home, folder, 'docs')
    const rogueKey = await generateKeyPair('Ed25519')
    const rogueId = peerIdFromPrivateKey(rogueKey).toString()
    await deviceAddCommand(home, rogueId, { addrs: [] })
    await shareCommand(home, 'docs', rogueId, { readOnly: false })
    const { daemon, lines } = await startLocalDaemon(home, cleanups)
    const rogue = await startRogueNode(rogueKey, cleanups)
    return { daemon, folder, rogue, rogueKey, lines }
  }

  for (const fault of ['a segment that does not hash to its id', 'a consistent skeleton under a stolen signature'] as const) {
    it(`${fault}: the daemon hangs up and stores nothing`, async () => {
      const { daemon, folder, rogue, rogueKey, lines } = await setup()
      const rogueId = peerIdFromPrivateKey(rogueKey).toString()
      const blocks = syntheticBlocks(1_000, 'rogue')
      const signed = await signRecord(fileRecordOf(blocks, { folder: 'docs', device: rogueId, seq: 1, path: 'big.bin' }), rogueKey)
      // the stolen-signature case announces the segments of another (unsigned) block list
      const other = fault === 'a segment that does not hash to its id' ? signed : await signRecord(fileRecordOf(syntheticBlocks(1_000, 'other'), { folder: 'docs', device: rogueId, seq: 1, path: 'big.bin' }), rogueKey)
      const cut = segmentRecord(other.bytes, other.record.blocks)!
      const asked: number[] = []
      await rogue.handle(INDEX_PROTOCOL_V2, async (stream) => {
        const lp = lpStream(stream)
        await lp.read() // sub
        await lp.write(encode(['recs', [[cut.head, signed.signature, cut.segments.map(s => [s.id, s.count])]]]))
        const want = decode((await lp.read()).subarray()) as ['want', Array<[number, number[]]>]
        const indices = want[1].flatMap(([, js]) => js)
        asked.push(...indices)
        await lp.write(encode(['segs', indices.map(j => {
          const s = cut.segments[j]!
          const bytes = other.bytes.slice(s.offset, s.offset + s.length)
          if (fault === 'a segment that does not hash to its id' && j === 0) bytes[50]! ^= 0x80
          return bytes
        })]))
        await new Promise(resolve => setTimeout(resolve, 30_000))
      })
      await rogue.dial(multiaddr(daemon.status().listenAddrs[0]!))
      await waitFor('the daemon to hang up', () => rogue.getConnections().length === 0, 15_000)
      expect(asked).toHaveLength(cut.segments.length)
      const why = fault === 'a segment that does not hash to its id' ? 'segment does not match its id' : 'bad signature'
      expect(lines.some(l => l.includes('cutting off') && l.includes(why))).toBe(true)
      expect(await readdir(folder)).toEqual(['.ferry'])
      expect(daemon.status().indexTraffic[rogueId]?.records ?? 0).toBe(0)
    })
  }
})
