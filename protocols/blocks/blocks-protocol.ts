import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { blockHashOf } from '../../src/hashing/block-cid.ts'
import { MessageStream } from '../wire/message-stream.ts'
import { IdleTimeout } from '../wire/idle-timeout.ts'
import { InvalidMessageError, RemoteError, TruncatedStreamError, toError } from '../wire/errors.ts'
import { type BlockBytes, blockBytesMatch } from './block-bytes.ts'
import { decodeBlkFrame, decodeBlocksMessage, encodeBlkHeader, encodeBlocksMessage, type BlocksMessage } from './messages.ts'
import {
  BLOCKS_PROTOCOL_V2, BLOCKS_PROTOCOL_V1, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_BLOCKS_AHEAD, DEFAULT_MAX_IN_FLIGHT_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_WANTS_PER_MESSAGE,
  BLOCKS_PROTOCOLS, DEFAULT_MAX_INBOUND_STREAMS
} from './constants.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ProtocolService } from '../wire/protocol-service.ts'
import { BlockCompressor, availableCodecs, decompressBlock, DecompressFailure, pickCodec, type Codec } from './compression.ts'
import { CorruptBlockError, InvalidCompressedBlockError } from './errors.ts'

/** Where the block server reads blocks, and who may read which folder's. */
export interface BlockReader {
  /** true when `peer` may read blocks of `folder` (asked per want-list) */
  mayRead: (peer: string, folder: string) => boolean
  /** the verified bytes of `cid` from `folder`, or undefined; `peer` is who asked (for metrics) */
  readBlock: (peer: string, folder: string, cid: CID) => Promise<Uint8Array | undefined>
  /** resolves when `bytes` of block data may go to `peer` (rate limits); default: at once */
  paceUpload?: (peer: string, bytes: number) => Promise<void>
}

export interface BlocksServiceComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  blocks: BlockReader
}

export interface BlocksServiceInit {
  /** default DEFAULT_MAX_INBOUND_STREAMS */
  maxInboundStreams?: number
  /** the log component name; default 'ferry:blocks:server' */
  logName?: string
  /** default: one of the service's own */
  compressor?: BlockCompressor
}

export interface BlocksService extends Startable {
  /** the protocol ids served while started */
  readonly protocols: readonly string[]
}

export { CorruptBlockError, InvalidCompressedBlockError } from './errors.ts'

export interface BlocksServerComponents {
  /** true when `peer` may read blocks of `folder` */
  mayRead: (peer: string, folder: string) => boolean
  /** the verified bytes of `cid` from `folder`'s files, or undefined */
  readBlock: (folder: string, cid: CID) => Promise<Uint8Array | undefined>
  log: Logger
  /** awaited before each block is written with the bytes it puts on the stream: the server paces, never drops */
  pace?: (bytes: number) => Promise<void>
  /**
   * compresses for clients that accept a codec; its concurrency bound is over every stream it
   * serves (BlocksProtocol passes its own, one for all its streams); without it, one for this stream
   */
  compressor?: BlockCompressor
}

/** v1 when the stream was negotiated as /ferry/blocks/1; v2 otherwise (in-memory test pairs have no protocol) */
const isV1 = (stream: Stream): boolean => stream.protocol === BLOCKS_PROTOCOL_V1
/** v1 and v2 peers refuse a want naming a blake3 block (an older ferry knows only sha2-256 ones) */
const knowsOnlySha256 = (stream: Stream): boolean => stream.protocol === BLOCKS_PROTOCOL_V1 || stream.protocol === BLOCKS_PROTOCOL_V2

function messages (stream: Stream, maxInFlightBytes = 0): MessageStream {
  return new MessageStream(stream, BLOCKS_PROTOCOL_V2, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, maxBufferedBytes: maxInFlightBytes + DEFAULT_MAX_MESSAGE_BYTES })
}

async function send (ms: MessageStream, m: BlocksMessage): Promise<void> {
  await ms.write(encodeBlocksMessage(m))
}

/**
 * Answers want-lists in order until the client half-closes. Up to DEFAULT_MAX_BLOCKS_AHEAD
 * blocks of a want are read and compressed while earlier ones are being sent.
 */
export async function serveBlocks (stream: Stream, peer: string, components: BlocksServerComponents): Promise<void> {
  const ms = messages(stream)
  const compressor = components.compressor ?? new BlockCompressor()
  /** the codec picked from the client's hello; undefined = raw blocks only */
  let codec: Codec | undefined
  let first = true
  /** a block ready to send: `data` undefined = `none`; `codec` undefined = raw `blk` */
  interface Prepared { cid: CID, data?: Uint8Array, codec?: Codec }
  const prepare = async (folder: string, cid: CID): Promise<Prepared> => {
    // a block that cannot be read (file changed or gone) is one we do not have
    const data = await components.readBlock(folder, cid).catch(() => undefined)
    if (data === undefined) return { cid }
    return { cid, ...await compressor.encode(data, codec) }
  }
  try {
    while (true) {
      let raw
      try {
        raw = await ms.read()
      } catch (err) {
        if (err instanceof TruncatedStreamError && stream.status !== 'reset' && stream.status !== 'aborted') break // clean end
        throw err
      }
      const m = decodeBlocksMessage(raw)
      if (m.type === 'hello') {
        if (isV1(stream)) throw new InvalidMessageError(BLOCKS_PROTOCOL_V1, 'hello is not part of this protocol version')
        if (!first) throw new InvalidMessageError(BLOCKS_PROTOCOL_V2, 'hello must be the first message')
        first = false
        codec = pickCodec(m.codecs)
        continue
      }
      first = false
      if (m.type !== 'want') throw new InvalidMessageError(BLOCKS_PROTOCOL_V2, `expected want, got ${m.type}`)
      if (!components.mayRead(peer, m.folder)) {
        await send(ms, { type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: `not a member of folder ${m.folder}` })
        break
      }
      // reads (and compressions) run a few blocks ahead of the writes: one read's latency (a
      // thread-pool round trip behind a busy event loop) would otherwise stall the stream once per block
      const ahead: Array<Promise<Prepared>> = []
      let queued = 0
      for (let i = 0; i < m.cids.length; i++) {
        while (queued < m.cids.length && queued - i < DEFAULT_MAX_BLOCKS_AHEAD) {
          const p = prepare(m.folder, m.cids[queued++]!)
          p.catch(() => {}) // observed when its turn comes; a failure before that must not go unhandled
          ahead.push(p)
        }
        const next = await ahead.shift()!
        if (next.data !== undefined) await components.pace?.(next.data.byteLength)
        // block bytes go out after their message header, without being copied into a CBOR buffer
        if (next.data === undefined) await send(ms, { type: 'none', cid: next.cid })
        else await ms.writeEncoded([encodeBlkHeader(next.cid, next.data.byteLength, next.codec), next.data])
      }
    }
    await ms.close()
  } catch (err) {
    components.log('blocks stream from %s failed: %s', peer, toError(err).message)
    ms.abort(err)
  }
}

export interface WantedBlock {
  cid: CID
  size: number
}

export interface FetchBlocksOptions {
  /** called once per received, hash-verified block, in order; awaited (backpressure) */
  onBlock: (cid: CID, data: BlockBytes) => Promise<void>
  /** the window, in uncompressed block bytes (it bounds the read buffer whatever the peer compresses) */
  maxInFlightBytes?: number
  /** codecs to accept, in the order offered; default: all this runtime has. [] = raw blocks only */
  codecs?: readonly Codec[]
  /**
   * awaited after each answer is read, with its bytes on the stream, before the next read (rate
   * limits): the window is topped up only as answers are consumed, so the sender slows down too
   */
  pace?: (bytes: number) => Promise<void>
  /** how long to wait for the next answer before giving up on this peer */
  idleTimeoutMs?: number
  signal?: AbortSignal
}

/**
 * Fetches `wanted` over one stream with a window of in-flight bytes. Resolves with the cids the
 * peer does not have. Every answer is checked against what was asked, in order, so a stream that
 * ends early is an error, never a silent short read.
 */
export async function fetchBlocks (stream: Stream, folder: string, asked: readonly WantedBlock[], options: FetchBlocksOptions): Promise<CID[]> {
  const maxInFlight = options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES
  const ms = messages(stream, maxInFlight)
  const missing: CID[] = []
  // a peer on blocks/1 or /2 cannot have a blake3 block (nor parse its name): not asked, missing
  let wanted = asked
  if (knowsOnlySha256(stream)) {
    wanted = asked.filter(w => blockHashOf(w.cid) === 'sha2-256')
    for (const w of asked) if (blockHashOf(w.cid) !== 'sha2-256') missing.push(w.cid)
  }
  let sent = 0
  let received = 0
  let inFlightBytes = 0
  // a v1 peer knows no hello; it only ever sends raw blocks
  const codecs = isV1(stream) ? [] : options.codecs ?? availableCodecs()
  // a stalled peer must not hold the file (and the folder's sync pass) forever
  const idle = new IdleTimeout(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, options.signal)
  try {
    if (codecs.length > 0) await send(ms, { type: 'hello', codecs: [...codecs] })
    while (received < wanted.length) {
      options.signal?.throwIfAborted()
      // top up the window
      const batch: WantedBlock[] = []
      while (sent + batch.length < wanted.length && batch.length < DEFAULT_MAX_WANTS_PER_MESSAGE) {
        const next = wanted[sent + batch.length]!
        if (inFlightBytes > 0 && inFlightBytes + next.size > maxInFlight) break
        batch.push(next)
        inFlightBytes += next.size
      }
      if (batch.length > 0) {
        await send(ms, { type: 'want', folder, cids: batch.map(b => b.cid) })
        sent += batch.length
        if (sent === wanted.length) await ms.close()
      }
      const frame = await idle.during(async signal => await ms.readFrame({ signal }))
      await options.pace?.(frame.byteLength)
      const m: BlocksMessage = decodeBlkFrame(frame) ?? decodeBlocksMessage(ms.decode(frame))
      const expected = wanted[received]!
      if (m.type === 'err') throw new RemoteError(BLOCKS_PROTOCOL_V2, m.code, m.message)
      if (m.type === 'want' || m.type === 'hello') throw new InvalidMessageError(BLOCKS_PROTOCOL_V2, `unexpected ${m.type}`)
      if (!m.cid.equals(expected.cid)) throw new InvalidMessageError(BLOCKS_PROTOCOL_V2, `answer out of order: ${m.cid.toString()}`)
      received++
      inFlightBytes -= expected.size
      if (m.type === 'none') {
        missing.push(m.cid)
        continue
      }
      let data: BlockBytes = m.data
      if (m.type === 'zblk') {
        if (!codecs.includes(m.codec)) throw new InvalidMessageError(BLOCKS_PROTOCOL_V2, `block ${m.cid.toString()} compressed with ${m.codec}, which was not offered`)
        try {
          data = await decompressBlock(m.codec, m.data, expected.size)
        } catch (err) {
          if (err instanceof DecompressFailure) throw new InvalidCompressedBlockError(expected.cid, err.message, err.bomb)
          throw err
        }
      }
      if (data.byteLength !== expected.size || !blockBytesMatch(expected.cid, data)) throw new CorruptBlockError(expected.cid)
      await options.onBlock(expected.cid, data)
    }
    if (wanted.length === 0) await ms.close()
    return missing
  } catch (err) {
    ms.abort(err)
    throw toError(err)
  } finally {
    idle.clear()
  }
}

/**
 * The block server as a service: serves /ferry/blocks/3, /2 and /1 (one handler; it reads the
 * negotiated id from the stream) while started. One compressor for all its streams, so its
 * concurrency bound holds over the whole server.
 */
export class BlocksProtocol extends ProtocolService implements BlocksService {
  private readonly components: BlocksServiceComponents
  private readonly compressor: BlockCompressor
  private readonly log: Logger

  constructor (components: BlocksServiceComponents, init: BlocksServiceInit = {}) {
    super({ registrar: components.registrar, protocols: BLOCKS_PROTOCOLS, maxInboundStreams: init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS })
    this.components = components
    this.compressor = init.compressor ?? new BlockCompressor()
    this.log = components.logger.forComponent(init.logName ?? 'ferry:blocks:server')
  }

  readonly [Symbol.toStringTag] = 'ferry:blocks'

  protected override async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const blocks = this.components.blocks
    await serveBlocks(stream, peer, {
      mayRead: (p, folder) => blocks.mayRead(p, folder),
      readBlock: async (folder, cid) => await blocks.readBlock(peer, folder, cid),
      log: this.log,
      ...(blocks.paceUpload === undefined ? {} : { pace: async (bytes: number) => { await blocks.paceUpload!(peer, bytes) } }),
      compressor: this.compressor
    })
  }
}
