import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import { encode } from 'cborg'
import type { FolderStore } from '../../src/store/folder-store.ts'
import type { SignedRecord } from '../../src/log/signed-record.ts'
import { MessageStream } from '../wire/message-stream.ts'
import { InvalidMessageError, RemoteError, toError } from '../wire/errors.ts'
import { decodeIndexMessage, encodeIndexMessage } from './messages.ts'
import { decodeIndexMessageV2, encodeIndexMessageV2, type IndexMessageV2 } from './delta-messages.ts'
import { completeDeltaBatch, sendDeltaBatch, type DeltaBatchStats, type DeltaMessages } from './record-delta.ts'
import type { SegmentLookup } from './segment-index.ts'
import {
  INDEX_PROTOCOL, INDEX_PROTOCOL_2, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_RECORDS_PER_BATCH
} from './constants.ts'

export interface IndexServerComponents {
  /** the folder's store if `peer` is a member allowed to read it, else undefined */
  folderStore: (peer: string, folder: string) => FolderStore | undefined | Promise<FolderStore | undefined>
  log: Logger
}

/** Which protocol version runs on a stream. */
export interface IndexStreamOptions {
  /** the negotiated protocol id; default `stream.protocol`, else index/2 (in-memory test pairs have none) */
  protocol?: string
  /** index/2 server: records with more block entries than this go as skeletons (default DEFAULT_DELTA_MIN_ENTRIES) */
  deltaMinEntries?: number
}

const SUBSCRIBE_TIMEOUT_MS = 10_000

/**
 * One stream's messages, in either version: index/1 streams use the index/1 schema (no
 * skeletons, no `want`/`segs`), index/2 streams the index/2 one. Counts the bytes both ways.
 */
class IndexMessages implements DeltaMessages {
  readonly ms: MessageStream
  readonly protocol: string
  readonly v2: boolean
  received = 0
  sent = 0
  onTraffic?: (received: number, sent: number) => void

  constructor (stream: Stream, options: IndexStreamOptions) {
    this.protocol = options.protocol ?? stream.protocol ?? INDEX_PROTOCOL_2
    this.v2 = this.protocol !== INDEX_PROTOCOL
    this.ms = new MessageStream(stream, this.protocol, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
  }

  async send (m: IndexMessageV2): Promise<void> {
    let body: unknown[]
    if (this.v2) {
      body = encodeIndexMessageV2(m)
    } else {
      if (m.type === 'want' || m.type === 'segs') throw new InvalidMessageError(this.protocol, `${m.type} is not part of this protocol version`)
      body = m.type === 'recs'
        ? ['recs', m.items.map(i => { if (i.kind !== 'whole') throw new Error('index/1 sends records whole'); return [i.bytes, i.signature] })]
        : encodeIndexMessage(m)
    }
    const bytes = encode(body)
    await this.ms.writeEncoded([bytes])
    this.count(0, frameLength(bytes.byteLength))
  }

  async receive (options: { signal?: AbortSignal } = {}): Promise<IndexMessageV2> {
    const frame = await this.ms.readFrame(options)
    this.count(frameLength(frame.byteLength), 0)
    const v = this.ms.decode(frame)
    if (this.v2) return decodeIndexMessageV2(v)
    const m = decodeIndexMessage(v)
    return m.type === 'recs' ? { type: 'recs', items: m.records.map(([bytes, signature]) => ({ kind: 'whole', bytes, signature })) } : m
  }

  private count (received: number, sent: number): void {
    this.received += received
    this.sent += sent
    this.onTraffic?.(received, sent)
  }
}

/** a frame's bytes on the stream: the varint length prefix and the body */
function frameLength (body: number): number {
  let prefix = 1
  for (let n = body; n >= 0x80; n = Math.floor(n / 128)) prefix++
  return prefix + body
}

/**
 * Serves one subscription: everything the store holds after the client's positions, in
 * batches the client acknowledges, then 'synced'; then keeps the stream open and pushes every
 * new record as it lands (cursor-based, so nothing falls between backlog and live updates).
 * On index/2 a record with a long block list goes as a skeleton (record-delta.ts).
 */
export async function serveIndex (stream: Stream, peer: string, components: IndexServerComponents, options: IndexStreamOptions = {}): Promise<void> {
  const io = new IndexMessages(stream, options)
  const ms = io.ms
  try {
    const first = await io.receive({ signal: AbortSignal.timeout(SUBSCRIBE_TIMEOUT_MS) })
    if (first.type !== 'sub') throw new InvalidMessageError(io.protocol, `expected sub, got ${first.type}`)
    const store = await components.folderStore(peer, first.folder)
    if (store === undefined) {
      // same answer whether the folder exists or not: non-members learn nothing
      await io.send({ type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: `not a member of folder ${first.folder}` })
      await ms.close()
      return
    }
    const cursor = new Map(Object.entries(first.positions))
    let changed = true
    const wake = { fn: (): void => {} }
    const unsubscribe = store.onChange(() => { changed = true; wake.fn() })
    const ended = new Promise<void>(resolve => {
      const done = (): void => resolve()
      stream.addEventListener('close', done, { once: true })
      stream.addEventListener('remoteCloseWrite', done, { once: true })
    })
    try {
      while (stream.status === 'open' && stream.remoteWriteStatus === 'writable') {
        if (!changed) {
          await Promise.race([ended, new Promise<void>(resolve => { wake.fn = resolve })])
          continue
        }
        changed = false
        // membership is checked again before every pass: a member removed meanwhile gets nothing more
        if (await components.folderStore(peer, first.folder) !== store) {
          await io.send({ type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: `not a member of folder ${first.folder}` })
          break
        }
        let batch: SignedRecord[] = []
        let batchBytes = 0
        const flush = async (): Promise<void> => {
          if (io.v2) {
            await sendDeltaBatch(io, batch, options.deltaMinEntries)
          } else {
            await io.send({ type: 'recs', items: batch.map(s => ({ kind: 'whole', bytes: s.bytes, signature: s.signature })) })
            const ack = await io.receive()
            if (ack.type !== 'ack') throw new InvalidMessageError(io.protocol, `expected ack, got ${ack.type}`)
          }
          batch = []
          batchBytes = 0
        }
        for (const device of store.devices()) {
          if (device === peer) continue // the peer is the authority on its own log
          for await (const s of store.recordsAfter(device, cursor.get(device) ?? 0)) {
            batch.push(s)
            batchBytes += s.bytes.byteLength + s.signature.byteLength
            cursor.set(device, s.record.seq)
            if (batch.length >= DEFAULT_MAX_RECORDS_PER_BATCH || batchBytes >= DEFAULT_MAX_BATCH_BYTES) await flush()
          }
        }
        if (batch.length > 0) await flush()
        await io.send({ type: 'synced' })
      }
    } finally {
      unsubscribe()
    }
    await ms.close()
  } catch (err) {
    components.log('index subscription from %s ended: %s', peer, toError(err).message)
    ms.abort(err)
  }
}

export interface IndexSubscriptionHandlers {
  /** verify and store a batch; throwing ends the subscription (and the caller cuts the peer off) */
  onRecords: (records: Array<[Uint8Array, Uint8Array]>) => Promise<void>
  /** the peer has sent everything it holds */
  onSynced: () => void
  /** index/2: block-list segments held here (any record of the folder); none: every segment is fetched */
  segments?: SegmentLookup
  /** bytes of index messages (frames) received and sent, as they pass */
  onTraffic?: (received: number, sent: number) => void
  /** index/2: after each batch, how much of it came as segments and how many were fetched */
  onDeltaBatch?: (stats: DeltaBatchStats) => void
}

/**
 * Client side: subscribes to `folder` after `positions`; runs until the stream ends or fails.
 * On index/2 it reassembles skeletons before `onRecords` sees them: the handler gets the
 * author's exact bytes in either version.
 */
export async function subscribeIndex (stream: Stream, folder: string, positions: Record<string, number>, handlers: IndexSubscriptionHandlers, options: IndexStreamOptions = {}): Promise<void> {
  const io = new IndexMessages(stream, options)
  io.onTraffic = handlers.onTraffic
  try {
    await io.send({ type: 'sub', folder, positions })
    while (true) {
      const m = await io.receive()
      switch (m.type) {
        case 'recs': {
          const stats: DeltaBatchStats = { skeletons: 0, segments: 0, fetched: 0 }
          const pairs = io.v2
            ? await completeDeltaBatch(io, m.items, handlers.segments, stats)
            : m.items.map(i => i.kind === 'whole' ? [i.bytes, i.signature] as [Uint8Array, Uint8Array] : fail(io.protocol))
          await handlers.onRecords(pairs)
          await io.send({ type: 'ack' })
          if (stats.skeletons > 0) handlers.onDeltaBatch?.(stats)
          break
        }
        case 'synced':
          handlers.onSynced()
          break
        case 'err':
          throw new RemoteError(io.protocol, m.code, m.message)
        default:
          throw new InvalidMessageError(io.protocol, `unexpected ${m.type}`)
      }
    }
  } catch (err) {
    io.ms.abort(err)
    throw toError(err)
  }
}

function fail (protocol: string): never {
  throw new InvalidMessageError(protocol, 'skeleton on index/1')
}
