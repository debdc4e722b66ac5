import { describe, expect, it } from 'vitest'
import { encode, decode } from 'cborg'
import { STRICT_CBOR } from '../../src/log/record-codec.ts'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { createHash } from 'node:crypto'
import { streamPair } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { decodeIndexMessage, encodeIndexMessage, type IndexMessage } from '../../protocols/index/messages.ts'
import { decodeBlocksMessage, encodeBlocksMessage, type BlocksMessage } from '../../protocols/blocks/messages.ts'
import { DEFAULT_MAX_POSITIONS, DEFAULT_MAX_RECORDS_PER_BATCH } from '../../protocols/index/constants.ts'
import { DEFAULT_MAX_BLOCK_BYTES, DEFAULT_MAX_WANTS_PER_MESSAGE, DEFAULT_MAX_MESSAGE_BYTES as BLOCKS_MAX_MESSAGE_BYTES } from '../../protocols/blocks/constants.ts'
import { MessageStream } from '../../protocols/wire/message-stream.ts'
import { InvalidMessageError, TruncatedStreamError } from '../../protocols/wire/errors.ts'
import { serveBlocks } from '../../protocols/blocks/blocks-protocol.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { FerryError } from '../../src/errors.ts'
import { rejection, until } from '../helpers/async-checks.ts'

type Tagged = [string, ...unknown[]]

function expectInvalidMessage (fn: () => unknown): void {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(InvalidMessageError)
  expect((caught as FerryError).name).toBe('InvalidMessageError')
  expect((caught as FerryError).code).toBe('ERR_FERRY_INVALID_MESSAGE')
}

function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Uint8Array.from(out)
}

const cidA = blockCid(new Uint8Array([1, 2, 3]))
const cidB = blockCid(new Uint8Array([4, 5, 6]))
const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest())
const dagPbV0 = CID.createV0(createDigest(0x12, sha(new Uint8Array([1]))))
const dagPbV1 = CID.createV1(0x70, createDigest(0x12, sha(new Uint8Array([1]))))
const identityCid = CID.createV1(raw.code, createDigest(0x00, new Uint8Array([1, 2, 3])))
const recordPair: [Uint8Array, Uint8Array] = [new Uint8Array([1, 2, 3]), new Uint8Array(64).fill(9)]

/** Messages go through strict CBOR on the wire; so do the round trips here. */
function viaCbor (v: unknown[]): Tagged {
  return decode(encode(v), STRICT_CBOR) as Tagged
}

describe('decodeIndexMessage', () => {
  it.each<[string, Tagged]>([
    ['unknown tag', ['subscribe', 'f', []]],
    ['empty tag', ['']],
    ['upper-case tag', ['SUB', 'f', []]],
    ['blocks tag', ['want', 'f', []]],
    ['sub without positions', ['sub', 'f']],
    ['sub with extra field', ['sub', 'f', [], 1]],
    ['sub positions not a list', ['sub', 'f', { d: 1 }]],
    ['sub folder not a string', ['sub', 1, []]],
    ['sub folder empty', ['sub', '', []]],
    ['sub folder too long', ['sub', 'f'.repeat(257), []]],
    ['sub position not a pair', ['sub', 'f', ['d']]],
    ['sub position triple', ['sub', 'f', [['d', 1, 2]]]],
    ['sub position device number', ['sub', 'f', [[1, 1]]]],
    ['sub position device empty', ['sub', 'f', [['', 1]]]],
    ['sub position seq string', ['sub', 'f', [['d', '1']]]],
    ['sub position seq negative', ['sub', 'f', [['d', -1]]]],
    ['sub position seq float', ['sub', 'f', [['d', 1.5]]]],
    ['sub position seq unsafe', ['sub', 'f', [['d', 2 ** 53]]]],
    ['recs without list', ['recs']],
    ['recs with extra field', ['recs', [recordPair], 1]],
    ['recs list not a list', ['recs', recordPair[0]]],
    ['recs empty', ['recs', []]],
    ['recs entry not a pair', ['recs', [[recordPair[0]]]]],
    ['recs entry strings', ['recs', [['a', 'b']]]],
    ['recs entry signature not bytes', ['recs', [[recordPair[0], 'sig']]]],
    ['recs entry record not bytes', ['recs', [[1, recordPair[1]]]]],
    ['ack with field', ['ack', 1]],
    ['synced with field', ['synced', true]],
    ['err without message', ['err', 'ERR_X']],
    ['err with extra field', ['err', 'ERR_X', 'm', 1]],
    ['err code number', ['err', 1, 'm']],
    ['err code empty', ['err', '', 'm']],
    ['err code too long', ['err', 'E'.repeat(65), 'm']],
    ['err message too long', ['err', 'E', 'm'.repeat(1025)]],
    ['err message bytes', ['err', 'E', new Uint8Array(1)]]
  ])('rejects %s', (_what, v) => {
    expectInvalidMessage(() => decodeIndexMessage(v))
  })

  it('rejects too many positions and too many records', () => {
    const positions = Array.from({ length: DEFAULT_MAX_POSITIONS + 1 }, (_, i) => [`d${i}`, i])
    expectInvalidMessage(() => decodeIndexMessage(['sub', 'f', positions]))
    const records = Array.from({ length: DEFAULT_MAX_RECORDS_PER_BATCH + 1 }, () => recordPair)
    expectInvalidMessage(() => decodeIndexMessage(['recs', records]))
  })

  it('accepts the limits exactly', () => {
    const positions = Array.from({ length: DEFAULT_MAX_POSITIONS }, (_, i) => [`d${i}`, i])
    const sub = decodeIndexMessage(['sub', 'f', positions])
    expect(sub.type === 'sub' && Object.keys(sub.positions).length).toBe(DEFAULT_MAX_POSITIONS)
    const records = Array.from({ length: DEFAULT_MAX_RECORDS_PER_BATCH }, () => recordPair)
    const recs = decodeIndexMessage(['recs', records])
    expect(recs.type === 'recs' && recs.records.length).toBe(DEFAULT_MAX_RECORDS_PER_BATCH)
  })

  it.each<[string, IndexMessage]>([
    ['sub', { type: 'sub', folder: 'folder-1', positions: { A: 3, B: 0, C: 12345 } }],
    ['sub with no positions', { type: 'sub', folder: 'folder-1', positions: {} }],
    ['recs', { type: 'recs', records: [recordPair, [new Uint8Array([7]), new Uint8Array(64)]] }],
    ['ack', { type: 'ack' }],
    ['synced', { type: 'synced' }],
    ['err', { type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: 'not a member of folder x' }]
  ])('round trips %s', (_what, m) => {
    const back = decodeIndexMessage(viaCbor(encodeIndexMessage(m)))
    expect(back).toEqual(m)
  })
})

describe('decodeBlocksMessage', () => {
  const data = new Uint8Array([1, 2, 3])
  it.each<[string, Tagged]>([
    ['unknown tag', ['block', cidA.bytes, data]],
    ['empty tag', ['']],
    ['index tag', ['sub', 'f', []]],
    ['want without cids', ['want', 'f']],
    ['want with extra field', ['want', 'f', [cidA.bytes], 1]],
    ['want cids not a list', ['want', 'f', cidA.bytes]],
    ['want empty cids', ['want', 'f', []]],
    ['want folder number', ['want', 1, [cidA.bytes]]],
    ['want folder empty', ['want', '', [cidA.bytes]]],
    ['want folder too long', ['want', 'f'.repeat(257), [cidA.bytes]]],
    ['want cid string', ['want', 'f', [cidA.toString()]]],
    ['want cid garbage bytes', ['want', 'f', [cidA.bytes, new Uint8Array([1, 2, 3])]]],
    ['want cid dag-pb v0', ['want', 'f', [dagPbV0.bytes]]],
    ['want cid dag-pb v1', ['want', 'f', [dagPbV1.bytes]]],
    ['want cid identity hash', ['want', 'f', [identityCid.bytes]]],
    ['want cid truncated', ['want', 'f', [cidA.bytes.subarray(0, 20)]]],
    ['blk without data', ['blk', cidA.bytes]],
    ['blk with extra field', ['blk', cidA.bytes, data, 1]],
    ['blk data string', ['blk', cidA.bytes, 'data']],
    ['blk cid string', ['blk', cidA.toString(), data]],
    ['blk cid dag-pb', ['blk', dagPbV1.bytes, data]],
    ['blk empty data', ['blk', cidA.bytes, new Uint8Array(0)]],
    ['blk oversized data', ['blk', cidA.bytes, new Uint8Array(DEFAULT_MAX_BLOCK_BYTES + 1)]],
    ['hello without codecs', ['hello']],
    ['hello codecs not a list', ['hello', 'zstd']],
    ['hello codec number', ['hello', [1]]],
    ['hello codec empty', ['hello', ['']]],
    ['hello codec name too long', ['hello', ['z'.repeat(17)]]],
    ['hello too many codecs', ['hello', Array.from({ length: 9 }, (_v, i) => `c${i}`)]],
    ['hello with extra field', ['hello', ['zstd'], 1]],
    ['zblk without data', ['zblk', cidA.bytes, 'zstd']],
    ['zblk without codec', ['zblk', cidA.bytes, data]],
    ['zblk unknown codec', ['zblk', cidA.bytes, 'lz4', data]],
    ['zblk codec none', ['zblk', cidA.bytes, 'none', data]],
    ['zblk codec number', ['zblk', cidA.bytes, 1, data]],
    ['zblk empty data', ['zblk', cidA.bytes, 'zstd', new Uint8Array(0)]],
    ['zblk oversized data', ['zblk', cidA.bytes, 'zstd', new Uint8Array(DEFAULT_MAX_BLOCK_BYTES + 1)]],
    ['zblk with extra field', ['zblk', cidA.bytes, 'zstd', data, 1]],
    ['none without cid', ['none']],
    ['none with extra field', ['none', cidA.bytes, 1]],
    ['none cid number', ['none', 5]],
    ['none cid garbage', ['none', new Uint8Array([0x01, 0x55])]],
    ['err without message', ['err', 'E']],
    ['err code number', ['err', 1, 'm']],
    ['err message too long', ['err', 'E', 'm'.repeat(1025)]]
  ])('rejects %s', (_what, v) => {
    expectInvalidMessage(() => decodeBlocksMessage(v))
  })

  it('rejects too many cids, accepts the limit', () => {
    const many = Array.from({ length: DEFAULT_MAX_WANTS_PER_MESSAGE + 1 }, () => cidA.bytes)
    expectInvalidMessage(() => decodeBlocksMessage(['want', 'f', many]))
    const m = decodeBlocksMessage(['want', 'f', many.slice(1)])
    expect(m.type === 'want' && m.cids.length).toBe(DEFAULT_MAX_WANTS_PER_MESSAGE)
  })

  it('accepts a block of exactly the maximum size', () => {
    const m = decodeBlocksMessage(['blk', cidA.bytes, new Uint8Array(DEFAULT_MAX_BLOCK_BYTES)])
    expect(m.type).toBe('blk')
  })

  const plain = (m: BlocksMessage): unknown => JSON.parse(JSON.stringify(m, (_k, v: unknown) => {
    if (v instanceof CID) return v.toString()
    if (v instanceof Uint8Array) return Array.from(v)
    return v
  }))
  it.each<[string, BlocksMessage]>([
    ['want', { type: 'want', folder: 'folder-1', cids: [cidA, cidB] }],
    ['blk', { type: 'blk', cid: cidA, data: new Uint8Array([1, 2, 3]) }],
    ['hello', { type: 'hello', codecs: ['zstd', 'br', 'gzip', 'future-codec'] }],
    ['hello accepting nothing', { type: 'hello', codecs: [] }],
    ['zblk', { type: 'zblk', cid: cidA, codec: 'br', data: new Uint8Array([1, 2, 3]) }],
    ['none', { type: 'none', cid: cidB }],
    ['err', { type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: 'no' }]
  ])('round trips %s', (_what, m) => {
    const back = decodeBlocksMessage(viaCbor(encodeBlocksMessage(m)))
    expect(plain(back)).toEqual(plain(m))
    if ('cid' in back && 'cid' in m) expect(back.cid.equals(m.cid)).toBe(true)
    if (back.type === 'want' && m.type === 'want') expect(back.cids.every((c, i) => c.equals(m.cids[i]))).toBe(true)
  })
})

describe('MessageStream over a streamPair', () => {
  async function pair (readerMax: number, writerMax = 8 * 1024 * 1024): Promise<{ a: Stream, b: Stream, writer: MessageStream, reader: MessageStream }> {
    const [a, b] = await streamPair()
    return { a, b, writer: new MessageStream(a, '/test/1', { maxMessageBytes: writerMax }), reader: new MessageStream(b, '/test/1', { maxMessageBytes: readerMax }) }
  }

  it('round trips every index and blocks message type through the wire', async () => {
    const { writer, reader } = await pair(BLOCKS_MAX_MESSAGE_BYTES)
    const index: IndexMessage[] = [
      { type: 'sub', folder: 'f', positions: { A: 1 } },
      { type: 'recs', records: [recordPair] },
      { type: 'ack' },
      { type: 'synced' },
      { type: 'err', code: 'E', message: 'm' }
    ]
    const blocks: BlocksMessage[] = [
      { type: 'want', folder: 'f', cids: [cidA, cidB] },
      { type: 'blk', cid: cidA, data: new Uint8Array(DEFAULT_MAX_BLOCK_BYTES).fill(7) },
      { type: 'none', cid: cidB },
      { type: 'err', code: 'E', message: 'm' }
    ]
    for (const m of index) await writer.write(encodeIndexMessage(m))
    for (const m of blocks) await writer.write(encodeBlocksMessage(m))
    for (const m of index) {
      const back = decodeIndexMessage(await reader.read())
      expect(back.type).toBe(m.type)
      if (back.type === 'recs') expect(Array.from(back.records[0]![1])).toEqual(Array.from(recordPair[1]))
      if (back.type === 'sub') expect(back.positions).toEqual({ A: 1 })
    }
    for (const m of blocks) {
      const back = decodeBlocksMessage(await reader.read())
      expect(back.type).toBe(m.type)
      if (back.type === 'blk') {
        expect(back.data.byteLength).toBe(DEFAULT_MAX_BLOCK_BYTES)
        expect(back.cid.equals(cidA)).toBe(true)
      }
    }
    await writer.close()
    const end = await rejection(reader.read())
    expect(end).toBeInstanceOf(TruncatedStreamError)
  })

  it('rejects a message over maxMessageBytes; the protocol aborts and the peer sees a reset', async () => {
    const { a, b, writer, reader } = await pair(1024)
    await writer.write(['x', new Uint8Array(2000)])
    const err = await rejection(reader.read())
    expect(['InvalidDataLengthError', 'StreamBufferError', 'InvalidMessageError']).toContain(err.name)
    // MessageStream leaves aborting to its caller (serveBlocks / serveIndex / fetchBlocks do it)
    reader.abort(err)
    expect(b.status).toBe('aborted')
    await until(() => a.status === 'reset')
  })

  it('a message over the read buffer bound gets the stream aborted by itself', async () => {
    const { a, b, writer, reader } = await pair(1024)
    await writer.write(['x', new Uint8Array(200_000)])
    const err = await rejection(reader.read())
    expect(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'StreamBufferError', 'InvalidMessageError']).toContain(err.name)
    await until(() => b.status === 'aborted' || b.status === 'reset')
    await until(() => a.status === 'reset' || a.status === 'aborted')
  })

  it('an oversized want sent to serveBlocks gets the stream reset', async () => {
    const [a, b] = await streamPair()
    const served = serveBlocks(b, 'peer', { mayRead: () => true, readBlock: async () => undefined, log: logger('test') })
    const writer = new MessageStream(a, '/test/1', { maxMessageBytes: 8 << 20 })
    await writer.write(['want', 'f', [new Uint8Array(BLOCKS_MAX_MESSAGE_BYTES + 1)]])
    await served
    expect(b.status).toBe('aborted')
    await until(() => a.status === 'reset')
    const err = await rejection(writer.read())
    expect(err.name).not.toBe('InvalidMessageError')
  })

  it('garbage CBOR is an InvalidMessageError', async () => {
    const { a, reader } = await pair(1024)
    const garbage = new Uint8Array([0xff, 0xfe, 0x00, 0x1c, 0x9f])
    a.send(varint(garbage.byteLength))
    a.send(garbage)
    const err = await rejection(reader.read())
    expect(err).toBeInstanceOf(InvalidMessageError)
    expect(err.name).toBe('InvalidMessageError')
    expect(err.code).toBe('ERR_FERRY_INVALID_MESSAGE')
  })

  it.each<[string, Uint8Array]>([
    ['a map', encode({ type: 'ack' })],
    ['an untagged array', encode([1, 2])],
    ['an empty array', encode([])],
    ['a string', encode('ack')],
    ['trailing bytes', new Uint8Array([...encode(['ack']), 0x00])],
    ['an indefinite-length array', new Uint8Array([0x9f, 0x63, 0x61, 0x63, 0x6b, 0xff])]
  ])('well-framed but non-conforming CBOR (%s) is an InvalidMessageError', async (_what, body) => {
    const { a, reader } = await pair(1024)
    a.send(varint(body.byteLength))
    a.send(body)
    const err = await rejection(reader.read())
    expect(err.name).toBe('InvalidMessageError')
    expect(err.code).toBe('ERR_FERRY_INVALID_MESSAGE')
  })

  it('a peer that closes mid-message is a TruncatedStreamError', async () => {
    const { a, reader } = await pair(1024)
    a.send(varint(100))
    a.send(new Uint8Array(10))
    await a.close()
    const err = await rejection(reader.read())
    expect(err).toBeInstanceOf(TruncatedStreamError)
    expect(err.name).toBe('TruncatedStreamError')
    expect(err.code).toBe('ERR_FERRY_TRUNCATED')
  })

  it('a peer that closes between messages is a TruncatedStreamError', async () => {
    const { writer, reader } = await pair(1024)
    await writer.write(['ack'])
    await writer.close()
    expect(await reader.read()).toEqual(['ack'])
    const err = await rejection(reader.read())
    expect(err.name).toBe('TruncatedStreamError')
    expect(err.code).toBe('ERR_FERRY_TRUNCATED')
  })

  it('a peer that closes after half a length prefix is a TruncatedStreamError', async () => {
    const { a, reader } = await pair(1 << 20)
    a.send(new Uint8Array([0x80])) // continuation bit set, no next byte
    await a.close()
    const err = await rejection(reader.read())
    expect(err.name).toBe('TruncatedStreamError')
  })

  it('writing after our own close is a TruncatedStreamError', async () => {
    const { writer } = await pair(1024)
    await writer.close()
    const err = await rejection(writer.write(['ack']))
    expect(err.name).toBe('TruncatedStreamError')
    expect(err.code).toBe('ERR_FERRY_TRUNCATED')
  })

  it('bounded writes still deliver everything, in order', async () => {
    const [a, b] = await streamPair()
    const writer = new MessageStream(a, '/test/1', { maxMessageBytes: 1 << 20, maxQueuedBytes: 256 * 1024 })
    const reader = new MessageStream(b, '/test/1', { maxMessageBytes: 1 << 20 })
    const n = 24
    const writing = (async () => {
      for (let i = 0; i < n; i++) await writer.write(['m', i, new Uint8Array(200 * 1024).fill(i)])
      await writer.close()
    })()
    for (let i = 0; i < n; i++) {
      const m = await reader.read()
      expect(m[1]).toBe(i)
      expect((m[2] as Uint8Array)[12345]).toBe(i)
    }
    await writing
    expect((await rejection(reader.read())).name).toBe('TruncatedStreamError')
  })
})
