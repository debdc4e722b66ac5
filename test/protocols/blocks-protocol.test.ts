import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { streamPair } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import type { Stream } from '@libp2p/interface'
import { serveBlocks, fetchBlocks, CorruptBlockError, type BlocksServerComponents, type WantedBlock } from '../../protocols/blocks/blocks-protocol.ts'
import { encodeBlocksMessage, decodeBlocksMessage } from '../../protocols/blocks/messages.ts'
import { BLOCKS_PROTOCOL_V2, DEFAULT_MAX_MESSAGE_BYTES } from '../../protocols/blocks/constants.ts'
import { MessageStream } from '../../protocols/wire/message-stream.ts'
import { RemoteError, TruncatedStreamError, InvalidMessageError } from '../../protocols/wire/errors.ts'
import { blockCid, blockMatches } from '../../src/hashing/block-cid.ts'
import { rejection, until } from '../helpers/async-checks.ts'
import { contiguous } from '../../protocols/blocks/block-bytes.ts'

const SEED = 4242
const KiB = 1024
const MiB = 1024 * 1024
const FOLDER = 'folder-1'
const log = logger('test')

interface Block { cid: CID, data: Uint8Array }

function makeBlocks (sizes: number[]): Block[] {
  return sizes.map(size => {
    const data = new Uint8Array(randomBytes(size))
    return { cid: blockCid(data), data }
  })
}

function store (blocks: Block[]): Map<string, Uint8Array> {
  return new Map(blocks.map(b => [b.cid.toString(), b.data]))
}

function components (blocks: Map<string, Uint8Array>, overrides: Partial<BlocksServerComponents> = {}): BlocksServerComponents {
  return {
    mayRead: () => true,
    readBlock: async (_folder, cid) => blocks.get(cid.toString()),
    log,
    ...overrides
  }
}

/** A hand-written server that answers the first want (after an optional hello) with whatever `answer` sends. */
async function fakeServer (stream: Stream, answer: (ms: MessageStream, cids: CID[], codecs: string[]) => Promise<void>): Promise<void> {
  const ms = new MessageStream(stream, BLOCKS_PROTOCOL_V2, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
  let m = decodeBlocksMessage(await ms.read())
  let codecs: string[] = []
  if (m.type === 'hello') {
    codecs = m.codecs
    m = decodeBlocksMessage(await ms.read())
  }
  if (m.type !== 'want') throw new Error('expected want')
  await answer(ms, m.cids, codecs)
}

describe('blocks protocol', () => {
  it('fetches 40 blocks of mixed sizes in order through a 2 MiB window', async () => {
    const sizes = fc.sample(fc.integer({ min: 64 * KiB, max: MiB }), { seed: SEED, numRuns: 40 })
    sizes[0] = MiB // the edges of the range are included for sure
    sizes[1] = 64 * KiB
    const blocks = makeBlocks(sizes)
    const held = store(blocks)
    const maxInFlightBytes = 2 * MiB

    let servedBytes = 0
    let deliveredBytes = 0
    let maxOutstanding = 0
    const [client, server] = await streamPair()
    const served = serveBlocks(server, 'peer-B', components(held, {
      readBlock: async (folder, cid) => {
        expect(folder).toBe(FOLDER)
        const data = held.get(cid.toString())
        servedBytes += data?.byteLength ?? 0
        maxOutstanding = Math.max(maxOutstanding, servedBytes - deliveredBytes)
        return data
      }
    }))

    const received: Block[] = []
    const wanted: WantedBlock[] = blocks.map(b => ({ cid: b.cid, size: b.data.byteLength }))
    const missing = await fetchBlocks(client, FOLDER, wanted, {
      maxInFlightBytes,
      onBlock: async (cid, data) => {
        deliveredBytes += data.byteLength
        received.push({ cid, data: contiguous(data) })
      }
    })
    await served

    expect(missing).toEqual([])
    expect(received).toHaveLength(40)
    for (let i = 0; i < blocks.length; i++) {
      expect(received[i]!.cid.equals(blocks[i]!.cid)).toBe(true)
      expect(received[i]!.data.byteLength).toBe(blocks[i]!.data.byteLength)
      expect(blockMatches(blocks[i]!.cid, received[i]!.data)).toBe(true)
    }
    // the server never had more than the window asked of it
    expect(maxOutstanding).toBeLessThanOrEqual(maxInFlightBytes)
    expect(servedBytes).toBe(sizes.reduce((a, b) => a + b, 0))
    // both sides closed cleanly (the last close event may still be in flight)
    await until(() => client.status === 'closed' && server.status === 'closed')
  })

  it('reports missing blocks in the returned list and delivers the rest', async () => {
    const blocks = makeBlocks([64 * KiB, 100 * KiB, 200 * KiB, 70 * KiB])
    const held = store([blocks[0]!, blocks[2]!])
    const [client, server] = await streamPair()
    const served = serveBlocks(server, 'peer-B', components(held))
    const got: CID[] = []
    const missing = await fetchBlocks(client, FOLDER, blocks.map(b => ({ cid: b.cid, size: b.data.byteLength })), {
      maxInFlightBytes: 2 * MiB,
      onBlock: async (cid) => { got.push(cid) }
    })
    await served
    expect(missing.map(c => c.toString())).toEqual([blocks[1]!.cid.toString(), blocks[3]!.cid.toString()])
    expect(got.map(c => c.toString())).toEqual([blocks[0]!.cid.toString(), blocks[2]!.cid.toString()])
  })

  it('fetching nothing resolves with nothing', async () => {
    const [client, server] = await streamPair()
    const served = serveBlocks(server, 'peer-B', components(new Map()))
    expect(await fetchBlocks(client, FOLDER, [], { onBlock: async () => {} })).toEqual([])
    await served
  })

  it('a peer that may not read the folder gets RemoteError ERR_FERRY_NOT_MEMBER', async () => {
    const blocks = makeBlocks([64 * KiB])
    const asked: string[] = []
    const [client, server] = await streamPair()
    const served = serveBlocks(server, 'peer-B', components(store(blocks), {
      mayRead: (peer, folder) => { asked.push(`${peer}/${folder}`); return false },
      readBlock: async () => { throw new Error('must not be called') }
    }))
    const err = await rejection(fetchBlocks(client, FOLDER, [{ cid: blocks[0]!.cid, size: 64 * KiB }], { onBlock: async () => {} }))
    await served
    expect(err).toBeInstanceOf(RemoteError)
    expect(err.name).toBe('RemoteError')
    expect(err.code).toBe('ERR_FERRY_NOT_MEMBER')
    expect(asked).toEqual([`peer-B/${FOLDER}`])
  })

  it('a server that returns corrupted bytes gets a CorruptBlockError on the client', async () => {
    const blocks = makeBlocks([64 * KiB, 128 * KiB, 96 * KiB])
    const held = store(blocks)
    const [client, server] = await streamPair()
    const served = serveBlocks(server, 'peer-B', components(held, {
      readBlock: async (_folder, cid) => {
        const data = held.get(cid.toString())
        if (data === undefined || !cid.equals(blocks[1]!.cid)) return data
        const bad = data.slice()
        bad[bad.byteLength >> 1] = bad[bad.byteLength >> 1]! ^ 0x01
        return bad
      }
    }))
    const got: CID[] = []
    const err = await rejection(fetchBlocks(client, FOLDER, blocks.map(b => ({ cid: b.cid, size: b.data.byteLength })), {
      onBlock: async (cid) => { got.push(cid) }
    }))
    await served
    expect(err).toBeInstanceOf(CorruptBlockError)
    expect(err.name).toBe('CorruptBlockError')
    expect(err.code).toBe('ERR_FERRY_INVALID_MESSAGE')
    expect(got.map(c => c.toString())).toEqual([blocks[0]!.cid.toString()])
    // aborted, unless both sides had already finished the exchange when the client checked
    expect(['aborted', 'closed']).toContain(client.status)
  })

  it('a server that returns a block of the wrong size gets a CorruptBlockError', async () => {
    const blocks = makeBlocks([64 * KiB])
    const [client, server] = await streamPair()
    const served = fakeServer(server, async (ms, cids) => {
      await ms.write(encodeBlocksMessage({ type: 'blk', cid: cids[0]!, data: blocks[0]!.data.subarray(1) }))
    }).catch(() => {})
    const err = await rejection(fetchBlocks(client, FOLDER, [{ cid: blocks[0]!.cid, size: 64 * KiB }], { onBlock: async () => {} }))
    await served
    expect(err.name).toBe('CorruptBlockError')
  })

  it('a server that answers out of order gets an InvalidMessageError', async () => {
    const blocks = makeBlocks([64 * KiB, 64 * KiB])
    const [client, server] = await streamPair()
    const served = fakeServer(server, async (ms, cids) => {
      await ms.write(encodeBlocksMessage({ type: 'blk', cid: cids[1]!, data: blocks[1]!.data }))
    }).catch(() => {})
    const err = await rejection(fetchBlocks(client, FOLDER, blocks.map(b => ({ cid: b.cid, size: 64 * KiB })), { onBlock: async () => {} }))
    await served
    expect(err).toBeInstanceOf(InvalidMessageError)
    expect(err.code).toBe('ERR_FERRY_INVALID_MESSAGE')
  })

  it('a server that closes before answering everything gets a TruncatedStreamError', async () => {
    const blocks = makeBlocks([64 * KiB, 64 * KiB])
    const [client, server] = await streamPair()
    const served = fakeServer(server, async (ms, cids) => {
      await ms.write(encodeBlocksMessage({ type: 'blk', cid: cids[0]!, data: blocks[0]!.data }))
      await ms.close()
    }).catch(() => {})
    const got: CID[] = []
    const err = await rejection(fetchBlocks(client, FOLDER, blocks.map(b => ({ cid: b.cid, size: 64 * KiB })), {
      onBlock: async (cid) => { got.push(cid) }
    }))
    await served
    expect(err).toBeInstanceOf(TruncatedStreamError)
    expect(err.code).toBe('ERR_FERRY_TRUNCATED')
    expect(got).toHaveLength(1)
  })

  it('a client that sends something other than want gets its stream reset', async () => {
    const [client, server] = await streamPair()
    const served = serveBlocks(server, 'peer-B', components(new Map()))
    const ms = new MessageStream(client, BLOCKS_PROTOCOL_V2, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
    await ms.write(encodeBlocksMessage({ type: 'none', cid: blockCid(new Uint8Array([1])) }))
    await served
    expect(server.status).toBe('aborted')
    const err = await rejection(ms.read())
    expect(err).toBeInstanceOf(Error)
  })
})
