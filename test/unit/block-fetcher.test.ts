import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { streamPair } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { serveBlocks } from '../../protocols/blocks/blocks-protocol.ts'
import { contiguous } from '../../protocols/blocks/block-bytes.ts'
import { blockCid, cidKey } from '../../src/hashing/block-cid.ts'
import { BlockFetcher } from '../../src/sync/block-fetcher.ts'

const MiB = 1024 * 1024

describe('BlockFetcher', () => {
  it('gets every block once from two peers when one lacks half of them, never asking it twice for a block it lacks', async () => {
    // 1 MiB blocks: a batch (32 MiB) takes only part of the queue, so the partial peer's later
    // batches must skip what it refused while keeping those blocks queued, in order, for the other
    const blocks = Array.from({ length: 80 }, () => { const data = new Uint8Array(randomBytes(MiB)); return { cid: blockCid(data), data } })
    const byKey = new Map(blocks.map(b => [cidKey(b.cid), b.data]))
    const lacks = new Set(blocks.filter((_, i) => i % 2 === 1).map(b => cidKey(b.cid)))
    const asked = { full: new Map<string, number>(), partial: new Map<string, number>() }
    const readBlock = (peer: 'full' | 'partial') => async (_folder: string, cid: CID): Promise<Uint8Array | undefined> => {
      const k = cidKey(cid)
      asked[peer].set(k, (asked[peer].get(k) ?? 0) + 1)
      return peer === 'partial' && lacks.has(k) ? undefined : byKey.get(k)
    }
    const served: Array<Promise<void>> = []
    const hangUps: string[] = []
    const fetcher = new BlockFetcher({
      openBlocksStream: async (peer) => {
        const [client, server] = await streamPair()
        served.push(serveBlocks(server, 'me', { mayRead: () => true, readBlock: readBlock(peer as 'full' | 'partial'), log: logger('test:blocks') }))
        return client
      },
      isConnected: () => true,
      hangUp: (peer) => { hangUps.push(peer) },
      log: logger('test:fetcher')
    })
    const got = new Map<string, number>()
    const left = await fetcher.fetchSome('f', ['partial', 'full'], blocks.map(b => ({ cid: b.cid, size: b.data.byteLength })), async (cid, data) => {
      const k = cidKey(cid)
      expect(Buffer.from(contiguous(data)).equals(Buffer.from(byKey.get(k)!))).toBe(true)
      got.set(k, (got.get(k) ?? 0) + 1)
    })
    await Promise.all(served)
    expect(left).toEqual([])
    expect(hangUps).toEqual([])
    expect(got.size).toBe(blocks.length)
    expect([...got.values()].every(n => n === 1)).toBe(true)
    expect([...asked.partial.values()].every(n => n === 1)).toBe(true)
    // both peers served: the partial one only what it has
    expect([...asked.partial.keys()].some(k => !lacks.has(k))).toBe(true)
    expect([...asked.full.keys()].some(k => lacks.has(k))).toBe(true)
  })

  it('asks a fallback peer (a relay) only for the blocks no other peer has', async () => {
    const blocks = Array.from({ length: 40 }, () => { const data = new Uint8Array(randomBytes(MiB)); return { cid: blockCid(data), data } })
    const byKey = new Map(blocks.map(b => [cidKey(b.cid), b.data]))
    // the member lacks the last ten blocks; the relay has them all
    const lacks = new Set(blocks.slice(30).map(b => cidKey(b.cid)))
    const asked = { member: new Set<string>(), relay: new Set<string>() }
    const served: Array<Promise<void>> = []
    const fetcher = new BlockFetcher({
      openBlocksStream: async (peer) => {
        const [client, server] = await streamPair()
        const who = peer as 'member' | 'relay'
        served.push(serveBlocks(server, 'me', {
          mayRead: () => true,
          readBlock: async (_folder, cid) => { asked[who].add(cidKey(cid)); return who === 'member' && lacks.has(cidKey(cid)) ? undefined : byKey.get(cidKey(cid)) },
          log: logger('test:blocks')
        }))
        return client
      },
      isConnected: () => true,
      hangUp: () => {},
      isFallback: peer => peer === 'relay',
      log: logger('test:fetcher')
    })
    const got = new Set<string>()
    const left = await fetcher.fetchSome('f', ['relay', 'member'], blocks.map(b => ({ cid: b.cid, size: b.data.byteLength })), async cid => { got.add(cidKey(cid)) })
    await Promise.all(served)
    expect(left).toEqual([])
    expect(got.size).toBe(blocks.length)
    expect([...asked.relay].sort()).toEqual([...lacks].sort())
    expect(fetcher.receivedBytes.get('relay')).toBe(10 * MiB)
  })

  it('asks a member that failed once again (its stream was on a connection just replaced) before the fallback', async () => {
    const blocks = Array.from({ length: 8 }, () => { const data = new Uint8Array(randomBytes(MiB)); return { cid: blockCid(data), data } })
    const byKey = new Map(blocks.map(b => [cidKey(b.cid), b.data]))
    const opened = { member: 0, relay: 0 }
    const served: Array<Promise<void>> = []
    const fetcher = new BlockFetcher({
      openBlocksStream: async (peer) => {
        const who = peer as 'member' | 'relay'
        if (++opened[who] <= 2 && who === 'member') throw new Error('stream reset: the relayed connection closed')
        const [client, server] = await streamPair()
        served.push(serveBlocks(server, 'me', { mayRead: () => true, readBlock: async (_folder, cid) => byKey.get(cidKey(cid)), log: logger('test:blocks') }))
        return client
      },
      isConnected: () => true,
      hangUp: () => {},
      isFallback: peer => peer === 'relay',
      log: logger('test:fetcher')
    })
    const left = await fetcher.fetchSome('f', ['relay', 'member'], blocks.map(b => ({ cid: b.cid, size: b.data.byteLength })), async () => {})
    await Promise.all(served)
    expect(left).toEqual([])
    expect(fetcher.receivedBytes.get('member')).toBe(8 * MiB)
    expect(opened.relay).toBe(0)
  })
  it('a peer that becomes a candidate while a fetch runs joins it (a holder that connects late is not left out)', async () => {
    // more than the first peer's two requests take at once (2 x 32 MiB): the rest waits in the queue
    const blocks = Array.from({ length: 100 }, () => { const data = new Uint8Array(randomBytes(MiB)); return { cid: blockCid(data), data } })
    const byKey = new Map(blocks.map(b => [cidKey(b.cid), b.data]))
    const servedBy = { first: 0, late: 0 }
    const served: Array<Promise<void>> = []
    const fetcher = new BlockFetcher({
      openBlocksStream: async (peer) => {
        const [client, server] = await streamPair()
        const who = peer as 'first' | 'late'
        served.push(serveBlocks(server, 'me', {
          mayRead: () => true,
          readBlock: async (_folder, cid) => {
            // the first peer is slow: the fetch is still running when the other one shows up
            if (who === 'first') await new Promise(resolve => setTimeout(resolve, 20))
            servedBy[who]++
            return byKey.get(cidKey(cid))
          },
          log: logger('test:blocks')
        }))
        return client
      },
      isConnected: () => true,
      hangUp: () => {},
      log: logger('test:fetcher')
    })
    // the late peer is a candidate once the first one has served a few blocks
    const peers = (): string[] => servedBy.first >= 5 ? ['first', 'late'] : ['first']
    const got = new Map<string, number>()
    const left = await fetcher.fetchSome('f', peers, blocks.map(b => ({ cid: b.cid, size: b.data.byteLength })), async cid => { got.set(cidKey(cid), (got.get(cidKey(cid)) ?? 0) + 1) })
    await Promise.all(served)
    expect(left).toEqual([])
    expect(got.size).toBe(blocks.length)
    expect([...got.values()].every(n => n === 1)).toBe(true)
    expect(servedBy.late).toBeGreaterThan(0)
    expect(servedBy.first + servedBy.late).toBe(blocks.length)
  })
})
