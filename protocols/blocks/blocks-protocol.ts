import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { blockMatches } from '../../src/hashing/block-cid.ts'
import { MessageStream } from '../wire/message-stream.ts'
import { InvalidMessageError, RemoteError, TruncatedStreamError, toError } from '../wire/errors.ts'
import { decodeBlocksMessage, encodeBlkHeader, encodeBlocksMessage, type BlocksMessage } from './messages.ts'
import {
  BLOCKS_PROTOCOL, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_IN_FLIGHT_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_WANTS_PER_MESSAGE
} from './constants.ts'

export interface BlocksServerComponents {
  /** true when `peer` may read blocks of `folder` */
  mayRead: (peer: string, folder: string) => boolean
  /** the verified bytes of `cid` from `folder`'s files, or undefined */
  readBlock: (folder: string, cid: CID) => Promise<Uint8Array | undefined>
  log: Logger
}

function messages (stream: Stream, maxInFlightBytes = 0): MessageStream {
  return new MessageStream(stream, BLOCKS_PROTOCOL, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, maxBufferedBytes: maxInFlightBytes + DEFAULT_MAX_MESSAGE_BYTES })
}

async function send (ms: MessageStream, m: BlocksMessage): Promise<void> {
  await ms.write(encodeBlocksMessage(m))
}

/** blocks read ahead of the one being sent, per stream */
const READ_AHEAD = 4

/** Answers want-lists in order until the client half-closes. */
export async function serveBlocks (stream: Stream, peer: string, components: BlocksServerComponents): Promise<void> {
  const ms = messages(stream)
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
      if (m.type !== 'want') throw new InvalidMessageError(BLOCKS_PROTOCOL, `expected want, got ${m.type}`)
      if (!components.mayRead(peer, m.folder)) {
        await send(ms, { type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: `not a member of folder ${m.folder}` })
        break
      }
      // reads run a few blocks ahead of the writes: one read's latency (a thread-pool round trip
      // behind a busy event loop) would otherwise stall the stream once per block
      const reads: Array<Promise<Uint8Array | undefined>> = []
      const readAt = (i: number): void => {
        const cid = m.cids[i]
        if (cid !== undefined) reads.push(components.readBlock(m.folder, cid).catch(() => undefined))
      }
      for (let i = 0; i < READ_AHEAD; i++) readAt(i)
      for (let i = 0; i < m.cids.length; i++) {
        const cid = m.cids[i]!
        const data = await reads[i]!
        readAt(i + READ_AHEAD)
        if (data === undefined) await send(ms, { type: 'none', cid })
        else await ms.writeEncoded([encodeBlkHeader(cid, data.byteLength), data])
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
  onBlock: (cid: CID, data: Uint8Array) => Promise<void>
  maxInFlightBytes?: number
  /** how long to wait for the next answer before giving up on this peer */
  idleTimeoutMs?: number
  signal?: AbortSignal
}

/** Thrown when a peer sends a block whose bytes do not hash to its cid: the peer is cut off. */
export class CorruptBlockError extends InvalidMessageError {
  constructor (cid: CID) {
    super(BLOCKS_PROTOCOL, `block ${cid.toString()} does not match its hash`)
  }
}

/**
 * Fetches `wanted` over one stream with a window of in-flight bytes. Resolves with the cids the
 * peer does not have. Every answer is checked against what was asked, in order, so a stream that
 * ends early is an error, never a silent short read.
 */
export async function fetchBlocks (stream: Stream, folder: string, wanted: readonly WantedBlock[], options: FetchBlocksOptions): Promise<CID[]> {
  const maxInFlight = options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES
  const ms = messages(stream, maxInFlight)
  const missing: CID[] = []
  let sent = 0
  let received = 0
  let inFlightBytes = 0
  try {
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
      // a stalled peer must not hold the file (and the folder's sync pass) forever
      const idle = AbortSignal.timeout(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS)
      const m = decodeBlocksMessage(await ms.read({ signal: options.signal === undefined ? idle : AbortSignal.any([options.signal, idle]) }))
      const expected = wanted[received]!
      if (m.type === 'err') throw new RemoteError(BLOCKS_PROTOCOL, m.code, m.message)
      if (m.type === 'want') throw new InvalidMessageError(BLOCKS_PROTOCOL, 'unexpected want')
      if (!m.cid.equals(expected.cid)) throw new InvalidMessageError(BLOCKS_PROTOCOL, `answer out of order: ${m.cid.toString()}`)
      received++
      inFlightBytes -= expected.size
      if (m.type === 'none') {
        missing.push(m.cid)
        continue
      }
      if (m.data.byteLength !== expected.size || !blockMatches(expected.cid, m.data)) throw new CorruptBlockError(expected.cid)
      await options.onBlock(expected.cid, m.data)
    }
    if (wanted.length === 0) await ms.close()
    return missing
  } catch (err) {
    ms.abort(err)
    throw toError(err)
  }
}
