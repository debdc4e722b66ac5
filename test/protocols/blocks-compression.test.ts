import { describe, expect, it } from 'vitest'
import zlib from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { streamPair } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import type { Stream } from '@libp2p/interface'
import { serveBlocks, fetchBlocks, CorruptBlockError, InvalidCompressedBlockError, type BlocksServerComponents } from '../../protocols/blocks/blocks-protocol.ts'
import { encodeBlocksMessage, decodeBlocksMessage, type BlocksMessage } from '../../protocols/blocks/messages.ts'
import { BLOCKS_PROTOCOL_V2, BLOCKS_PROTOCOL_V1, DEFAULT_MAX_BLOCK_BYTES, DEFAULT_MAX_MESSAGE_BYTES } from '../../protocols/blocks/constants.ts'
import { BlockCompressor, availableCodecs, compressWith, decompressBlock, looksRandom, pickCodec, sampleShrinks, type Codec } from '../../protocols/blocks/compression.ts'
import { MessageStream } from '../../protocols/wire/message-stream.ts'
import { InvalidMessageError } from '../../protocols/wire/errors.ts'
import { blockCid, DEFAULT_BLOCK_HASH, type BlockHash } from '../../src/hashing/block-cid.ts'
import { csvText } from '../helpers/compressible-data.ts'
import { rejection } from '../helpers/async-checks.ts'
import { contiguous } from '../../protocols/blocks/block-bytes.ts'

const KiB = 1024
const FOLDER = 'folder-1'
const log = logger('test')

interface Block { cid: CID, data: Uint8Array }

const block = (data: Uint8Array, hash: BlockHash = DEFAULT_BLOCK_HASH): Block => ({ cid: blockCid(data, hash), data })
const textBlocks = (sizes: number[], hash: BlockHash = DEFAULT_BLOCK_HASH): Block[] => sizes.map((size, i) => block(csvText(size, 100 + i), hash))
const randomBlocks = (sizes: number[]): Block[] => sizes.map(size => block(new Uint8Array(randomBytes(size))))
const wantedOf = (blocks: Block[]): Array<{ cid: CID, size: number }> => blocks.map(b => ({ cid: b.cid, size: b.data.byteLength }))

function server (stream: Stream, blocks: Block[], compressor: BlockCompressor, overrides: Partial<BlocksServerComponents> = {}): Promise<void> {
  const held = new Map(blocks.map(b => [b.cid.toString(), b.data]))
  return serveBlocks(stream, 'peer-B', { mayRead: () => true, readBlock: async (_f, cid) => held.get(cid.toString()), log, compressor, ...overrides })
}

/** bytes that arrive at `stream` from its peer: what the server really put on the wire */
function wireBytes (stream: Stream): () => number {
  let n = 0
  stream.addEventListener('message', (e) => { n += e.data.byteLength })
  return () => n
}

async function fetchAll (client: Stream, blocks: Block[], codecs?: Codec[]): Promise<Block[]> {
  const got: Block[] = []
  const missing = await fetchBlocks(client, FOLDER, wantedOf(blocks), {
    ...(codecs === undefined ? {} : { codecs }),
    onBlock: async (cid, data) => { got.push({ cid, data: contiguous(data) }) }
  })
  expect(missing).toEqual([])
  return got
}

function expectIntact (got: Block[], blocks: Block[]): void {
  expect(got).toHaveLength(blocks.length)
  for (let i = 0; i < blocks.length; i++) {
    expect(got[i]!.cid.equals(blocks[i]!.cid)).toBe(true)
    expect(Buffer.from(got[i]!.data).equals(Buffer.from(blocks[i]!.data))).toBe(true)
  }
}

/** a client that speaks the protocol by hand: sends `hello` (if given) and one want, returns the answers */
async function rawClient (stream: Stream, blocks: Block[], hello?: string[]): Promise<BlocksMessage[]> {
  const ms = new MessageStream(stream, BLOCKS_PROTOCOL_V2, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, maxBufferedBytes: 16 * 1024 * 1024 })
  if (hello !== undefined) await ms.write(encodeBlocksMessage({ type: 'hello', codecs: hello }))
  await ms.write(encodeBlocksMessage({ type: 'want', folder: FOLDER, cids: blocks.map(b => b.cid) }))
  await ms.close()
  const out: BlocksMessage[] = []
  for (let i = 0; i < blocks.length; i++) out.push(decodeBlocksMessage(await ms.read()))
  return out
}

/** A hand-written server: reads hello + want, then sends `answers(cids)`. */
async function fakeServer (stream: Stream, answers: (cids: CID[]) => BlocksMessage[]): Promise<string[]> {
  const ms = new MessageStream(stream, BLOCKS_PROTOCOL_V2, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
  let m = decodeBlocksMessage(await ms.read())
  const codecs = m.type === 'hello' ? m.codecs : []
  if (m.type === 'hello') m = decodeBlocksMessage(await ms.read())
  if (m.type !== 'want') throw new Error('expected want')
  for (const a of answers(m.cids)) await ms.write(encodeBlocksMessage(a))
  return codecs
}

describe('block compression on /ferry/blocks/2', () => {
  it('this runtime has zstd, and the server picks the best codec both sides have', () => {
    expect(availableCodecs()).toEqual(['zstd', 'br', 'gzip'])
    expect(pickCodec(['gzip', 'zstd', 'br'])).toBe('zstd') // the server's preference, not the client's order
    expect(pickCodec(['gzip', 'br'])).toBe('br')
    expect(pickCodec(['lz4', 'gzip'])).toBe('gzip')
    expect(pickCodec(['lz4'])).toBeUndefined()
    expect(pickCodec([])).toBeUndefined()
    expect(pickCodec(['zstd', 'gzip'], ['br', 'gzip'])).toBe('gzip') // a runtime without zstd
  })

  it('compressible blocks cross compressed (far fewer bytes on the stream) and arrive intact', async () => {
    const blocks = textBlocks([256 * KiB, 64 * KiB, DEFAULT_MAX_BLOCK_BYTES, 300 * KiB])
    const total = blocks.reduce((n, b) => n + b.data.byteLength, 0)
    const compressor = new BlockCompressor()
    const [client, srv] = await streamPair()
    const onWire = wireBytes(client)
    const served = server(srv, blocks, compressor)
    const got = await fetchAll(client, blocks)
    await served
    expectIntact(got, blocks)
    expect(compressor.stats).toMatchObject({ blocks: 4, compressed: 4, sampledOut: 0, notWorth: 0, rawBytes: total })
    // CSV text shrinks to about a third with zstd level 1
    expect(onWire()).toBeLessThan(total * 0.5)
    expect(onWire()).toBeGreaterThanOrEqual(compressor.stats.wireBytes)
  })

  it('random blocks cross raw after only the quick check', async () => {
    const blocks = randomBlocks([256 * KiB, 64 * KiB, 700 * KiB])
    const total = blocks.reduce((n, b) => n + b.data.byteLength, 0)
    const compressor = new BlockCompressor()
    const [client, srv] = await streamPair()
    const onWire = wireBytes(client)
    const answers = rawClient(client, blocks, ['zstd', 'br', 'gzip'])
    await server(srv, blocks, compressor)
    expect((await answers).map(m => m.type)).toEqual(['blk', 'blk', 'blk'])
    expect(compressor.stats).toMatchObject({ blocks: 3, sampledOut: 3, compressed: 0, notWorth: 0 })
    expect(onWire()).toBeGreaterThan(total)
  })

  it('a block whose start compresses but whose whole does not save 10% is sent raw', async () => {
    const data = new Uint8Array(256 * KiB)
    data.set(csvText(16 * KiB), 0)
    data.set(randomBytes(240 * KiB), 16 * KiB)
    const blocks = [block(data)]
    const compressor = new BlockCompressor()
    const [client, srv] = await streamPair()
    const served = server(srv, blocks, compressor)
    expectIntact(await fetchAll(client, blocks), blocks)
    await served
    expect(compressor.stats).toMatchObject({ sampledOut: 0, notWorth: 1, compressed: 0 })
  })

  it('the quick check tells text from random bytes', () => {
    expect(sampleShrinks(csvText(256 * KiB))).toBe(true)
    expect(sampleShrinks(new Uint8Array(randomBytes(256 * KiB)))).toBe(false)
    expect(sampleShrinks(new Uint8Array(1000))).toBe(true) // shorter than the sample
  })

  it('takes samples with the byte spread of random data as incompressible without compressing them; anything else is tried', () => {
    for (const n of [2 * KiB, 4 * KiB, 8 * KiB]) {
      for (let i = 0; i < 200; i++) expect(looksRandom(new Uint8Array(randomBytes(n)))).toBe(true)
    }
    // most short random samples too (the rest are tried with zstd, which finds them incompressible)
    let short = 0
    for (let i = 0; i < 200; i++) if (looksRandom(new Uint8Array(randomBytes(KiB)))) short++
    expect(short).toBeGreaterThan(180)
    expect(looksRandom(new Uint8Array(randomBytes(1000)))).toBe(false) // too short to tell
    expect(looksRandom(csvText(8 * KiB))).toBe(false)
    expect(looksRandom(new Uint8Array(8 * KiB))).toBe(false)
    // random bytes in a narrower alphabet (hex, base64) compress, and are tried
    expect(looksRandom(new TextEncoder().encode(randomBytes(4 * KiB).toString('hex')))).toBe(false)
    expect(looksRandom(new TextEncoder().encode(randomBytes(6 * KiB).toString('base64')))).toBe(false)
    expect(sampleShrinks(new TextEncoder().encode(randomBytes(8 * KiB).toString('hex')))).toBe(true)
    // the price: random bytes that repeat within the sample look random and go raw
    const twice = new Uint8Array(8 * KiB)
    const half = randomBytes(4 * KiB)
    twice.set(half, 0)
    twice.set(half, 4 * KiB)
    expect(looksRandom(twice)).toBe(true)
    expect(sampleShrinks(twice)).toBe(false)
  })

  it.each<[string, string[], string]>([
    ['only gzip', ['gzip'], 'gzip'],
    ['brotli and gzip', ['gzip', 'br'], 'br'],
    ['everything, in the client\'s own order', ['gzip', 'br', 'zstd'], 'zstd'],
    ['an unknown codec next to gzip', ['lz4', 'gzip'], 'gzip']
  ])('negotiation: a client accepting %s gets blocks tagged with the best common codec', async (_what, hello, codec) => {
    const blocks = textBlocks([128 * KiB, 96 * KiB])
    const [client, srv] = await streamPair()
    const answers = rawClient(client, blocks, hello)
    await server(srv, blocks, new BlockCompressor())
    for (const [i, m] of (await answers).entries()) {
      expect(m.type).toBe('zblk')
      if (m.type !== 'zblk') continue
      expect(m.codec).toBe(codec)
      expect(blockCid(await decompressBlock(m.codec, m.data, blocks[i]!.data.byteLength)).equals(blocks[i]!.cid)).toBe(true)
    }
  })

  it.each<[string, string[] | undefined]>([
    ['no hello at all (a v1-style client)', undefined],
    ['an empty hello', []],
    ['only codecs the server does not know', ['lz4', 'snappy']]
  ])('negotiation: %s gets raw blocks and costs the server no compression', async (_what, hello) => {
    const blocks = textBlocks([128 * KiB, 96 * KiB])
    const compressor = new BlockCompressor()
    const [client, srv] = await streamPair()
    const answers = rawClient(client, blocks, hello)
    await server(srv, blocks, compressor)
    expect((await answers).map(m => m.type)).toEqual(['blk', 'blk'])
    expect(compressor.stats).toMatchObject({ blocks: 2, sampledOut: 0, notWorth: 0, compressed: 0 })
  })

  it('negotiation: fetchBlocks with codecs [] sends no hello and receives raw blocks intact', async () => {
    const blocks = textBlocks([128 * KiB])
    const compressor = new BlockCompressor()
    const [client, srv] = await streamPair()
    const served = server(srv, blocks, compressor)
    expectIntact(await fetchAll(client, blocks, []), blocks)
    await served
    expect(compressor.stats.compressed).toBe(0)
  })

  it('on a /ferry/blocks/1 stream the client sends no hello and the server sends raw blocks', async () => {
    // a blocks/1 peer knows sha2-256 blocks only
    const blocks = textBlocks([128 * KiB, 64 * KiB], 'sha2-256')
    const [client, srv] = await streamPair()
    client.protocol = BLOCKS_PROTOCOL_V1
    srv.protocol = BLOCKS_PROTOCOL_V1
    const seen: string[][] = []
    const fake = fakeServer(srv, cids => cids.map((cid, i) => ({ type: 'blk', cid, data: blocks[i]!.data })))
    expectIntact(await fetchAll(client, blocks), blocks)
    seen.push(await fake)
    expect(seen).toEqual([[]]) // no hello went out
  })

  it('a hello on a /ferry/blocks/1 stream, or after a want, gets the stream reset', async () => {
    const blocks = textBlocks([64 * KiB])
    for (const [protocol, before] of [[BLOCKS_PROTOCOL_V1, false], [BLOCKS_PROTOCOL_V2, true]] as const) {
      const [client, srv] = await streamPair()
      srv.protocol = protocol
      const served = server(srv, blocks, new BlockCompressor())
      const ms = new MessageStream(client, BLOCKS_PROTOCOL_V2, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
      if (before) await ms.write(encodeBlocksMessage({ type: 'want', folder: FOLDER, cids: [blocks[0]!.cid] }))
      await ms.write(encodeBlocksMessage({ type: 'hello', codecs: ['zstd'] }))
      await served
      expect(srv.status).toBe('aborted')
    }
  })

  describe('a misbehaving server', () => {
    const victim = block(csvText(64 * KiB))
    const size = victim.data.byteLength
    async function fetchFrom (answer: (cid: CID) => BlocksMessage): Promise<Error & { code?: string }> {
      const [client, srv] = await streamPair()
      const fake = fakeServer(srv, cids => [answer(cids[0]!)]).catch(() => [])
      const err = await rejection(fetchAll(client, [victim]))
      await fake
      expect(client.status).toBe('aborted')
      return err
    }

    it.each<[Codec]>([['zstd'], ['br'], ['gzip']])('a %s bomb (tiny payload inflating far past the declared size) is an InvalidCompressedBlockError', async (codec) => {
      const zeros = new Uint8Array(64 * 1024 * 1024)
      // zstd: a 1 MiB window, which the decoder accepts; only the output bound can stop it
      const payload = codec === 'zstd'
        ? zlib.zstdCompressSync(zeros, { params: { [zlib.constants.ZSTD_c_windowLog]: 20, [zlib.constants.ZSTD_c_contentSizeFlag]: 0 } })
        : await compressWith(codec, zeros, 9)
      expect(payload.byteLength).toBeLessThan(DEFAULT_MAX_MESSAGE_BYTES)
      const err = await fetchFrom(cid => ({ type: 'zblk', cid, codec, data: payload }))
      expect(err).toBeInstanceOf(InvalidCompressedBlockError)
      expect(err).toBeInstanceOf(InvalidMessageError) // so BlockFetcher hangs up on the peer
      expect(err.name).toBe('InvalidCompressedBlockError')
      expect(err.code).toBe('ERR_FERRY_INVALID_MESSAGE')
      expect((err as InvalidCompressedBlockError).bomb).toBe(true)
    })

    it('one byte more than declared is already a bomb', async () => {
      const payload = await compressWith('zstd', csvText(size + 1))
      const err = await fetchFrom(cid => ({ type: 'zblk', cid, codec: 'zstd', data: payload }))
      expect(err.name).toBe('InvalidCompressedBlockError')
      expect((err as InvalidCompressedBlockError).bomb).toBe(true)
    })

    it.each<[Codec]>([['zstd'], ['br'], ['gzip']])('corrupt %s bytes are an InvalidCompressedBlockError', async (codec) => {
      const good = await compressWith(codec, victim.data)
      const cut = good.subarray(0, good.byteLength >> 1) // truncated
      const err = await fetchFrom(cid => ({ type: 'zblk', cid, codec, data: cut }))
      expect(err.name).toBe('InvalidCompressedBlockError')
      expect((err as InvalidCompressedBlockError).bomb).toBe(false)
    })

    it('garbage tagged as zstd is an InvalidCompressedBlockError', async () => {
      const err = await fetchFrom(cid => ({ type: 'zblk', cid, codec: 'zstd', data: new Uint8Array(randomBytes(4096)) }))
      expect(err.name).toBe('InvalidCompressedBlockError')
    })

    it('a zstd frame asking for a window larger than any block is refused before it is decoded', async () => {
      // hand-made frame: magic, descriptor 0x00 (no content size, not single-segment), window
      // descriptor 0x88 (2^27 = 128 MiB), then one last RLE block of `size` bytes 'a'. Without the
      // window cap the decoder would allocate the window and the result would only fail the hash.
      const rle = (size << 3) | 0b011
      const frame = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x88, rle & 0xff, (rle >> 8) & 0xff, (rle >> 16) & 0xff, 0x61])
      const err = await fetchFrom(cid => ({ type: 'zblk', cid, codec: 'zstd', data: frame }))
      expect(err.name).toBe('InvalidCompressedBlockError')
      expect(err.message).toMatch(/memory|window/i)
      // the same frame with a 1 MiB window decodes (to the wrong content)
      const small = Uint8Array.from(frame)
      small[5] = 0x50 // 2^20
      expect((await fetchFrom(cid => ({ type: 'zblk', cid, codec: 'zstd', data: small }))).name).toBe('CorruptBlockError')
    })

    it('a short result is an InvalidCompressedBlockError; other content of the right size a CorruptBlockError', async () => {
      const short = await compressWith('br', victim.data.subarray(1))
      expect((await fetchFrom(cid => ({ type: 'zblk', cid, codec: 'br', data: short }))).name).toBe('InvalidCompressedBlockError')
      const other = await compressWith('zstd', csvText(size, 999))
      const err = await fetchFrom(cid => ({ type: 'zblk', cid, codec: 'zstd', data: other }))
      expect(err).toBeInstanceOf(CorruptBlockError)
    })

    it('a block in a codec the client did not offer is an InvalidMessageError', async () => {
      const payload = await compressWith('gzip', victim.data)
      const [client, srv] = await streamPair()
      const fake = fakeServer(srv, cids => [{ type: 'zblk', cid: cids[0]!, codec: 'gzip', data: payload }]).catch(() => [])
      const err = await rejection(fetchAll(client, [victim], ['zstd']))
      expect(await fake).toEqual(['zstd'])
      expect(err).toBeInstanceOf(InvalidMessageError)
      expect(err.message).toContain('not offered')
    })
  })
})
