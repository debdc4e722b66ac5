import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { streamPair } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import { serveBlocks, fetchBlocks, type WantedBlock } from '../../protocols/blocks/blocks-protocol.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { until } from '../helpers/async-checks.ts'

const KiB = 1024
const FOLDER = 'folder-1'
const log = logger('test')

/** a pace hook that holds every call until `release` is called; records the bytes it was asked for */
function gate (): { pace: (bytes: number) => Promise<void>, asked: number[], release: () => void } {
  const asked: number[] = []
  let open = false
  let waiting: Array<() => void> = []
  return {
    asked,
    pace: async bytes => {
      asked.push(bytes)
      if (!open) await new Promise<void>(resolve => waiting.push(resolve))
    },
    release: () => { open = true; for (const w of waiting) w(); waiting = [] }
  }
}

function blocks (count: number, size: number): Array<{ cid: ReturnType<typeof blockCid>, data: Uint8Array }> {
  return Array.from({ length: count }, () => {
    const data = new Uint8Array(randomBytes(size))
    return { cid: blockCid(data), data }
  })
}

describe('blocks protocol pacing (rate limits)', () => {
  it('the server writes no block before its pace allows, and asks once per block with the bytes it sends', async () => {
    const list = blocks(6, 256 * KiB)
    const held = new Map(list.map(b => [b.cid.toString(), b.data]))
    const g = gate()
    const [client, server] = await streamPair()
    const served = serveBlocks(server, 'peer-B', { mayRead: () => true, readBlock: async (_f, cid) => held.get(cid.toString()), log, pace: g.pace })
    let delivered = 0
    const wanted: WantedBlock[] = list.map(b => ({ cid: b.cid, size: b.data.byteLength }))
    const fetched = fetchBlocks(client, FOLDER, wanted, { codecs: [], onBlock: async () => { delivered++ } })
    await until(() => g.asked.length === 1)
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(delivered).toBe(0)
    g.release()
    expect(await fetched).toEqual([])
    await served
    expect(delivered).toBe(6)
    expect(g.asked).toEqual(list.map(() => 256 * KiB))
  })

  it('the client reads no further while its pace holds, so the server is asked for no more than the window', async () => {
    const list = blocks(16, 256 * KiB)
    const held = new Map(list.map(b => [b.cid.toString(), b.data]))
    let read = 0
    const g = gate()
    const [client, server] = await streamPair()
    const served = serveBlocks(server, 'peer-B', { mayRead: () => true, readBlock: async (_f, cid) => { read++; return held.get(cid.toString()) }, log })
    let delivered = 0
    const wanted: WantedBlock[] = list.map(b => ({ cid: b.cid, size: b.data.byteLength }))
    const fetched = fetchBlocks(client, FOLDER, wanted, { codecs: [], maxInFlightBytes: 1024 * KiB, pace: g.pace, onBlock: async () => { delivered++ } })
    await until(() => read === 4)
    await new Promise(resolve => setTimeout(resolve, 100))
    // the window is 4 blocks: nothing more was asked for, nothing delivered while the pace holds
    expect(read).toBe(4)
    expect(delivered).toBe(0)
    expect(g.asked).toHaveLength(1)
    g.release()
    expect(await fetched).toEqual([])
    await served
    expect(delivered).toBe(16)
    expect(g.asked.every(b => b > 256 * KiB && b < 257 * KiB)).toBe(true)
  })
})
