import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { SignedRecord } from '../../src/log/signed-record.ts'
import { blockHashOf } from '../../src/hashing/block-cid.ts'
import { TypedMessageStream } from '../wire/typed-message-stream.ts'
import { InvalidMessageError, RemoteError, toError } from '../wire/errors.ts'
import { indexCodec, indexCodecV2, wholeRecordsOnly, type IndexMessageV2 } from './delta-messages.ts'
import { completeDeltaBatch, sendDeltaBatch, type DeltaBatchStats, type DeltaMessages } from './record-delta.ts'
import type { SegmentLookup } from './segment-index.ts'
import {
  INDEX_PROTOCOL_V1, INDEX_PROTOCOL_V2, INDEX_PROTOCOL_V3, INDEX_PROTOCOLS, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_RECORDS_PER_BATCH, DEFAULT_SUBSCRIBE_TIMEOUT_MS
} from './constants.ts'
import { folderUnavailable, notMember } from './errors.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ProtocolService } from '../wire/protocol-service.ts'

/** One folder's records as the index server reads them (a folder's record store). */
export interface RecordSource {
  /** the devices with records in this folder */
  devices: () => Iterable<string>
  /** `device`'s records with seq > `seq`, in seq order */
  recordsAfter: (device: string, seq: number) => AsyncIterable<SignedRecord>
  /** called whenever records land; returns the unsubscribe */
  onChange: (listener: () => void) => () => void
}

/** The folders the index server serves, behind their access check. */
export interface RecordSources {
  /**
   * the records of `folder` if `peer` may read them (on `protocol`, the subscription's index
   * version), else undefined; asked again before every pass of a subscription, which ends when
   * the answer is no longer the same source
   */
  get: (folder: string, peer: string, protocol: string) => RecordSource | undefined | Promise<RecordSource | undefined>
  /**
   * `peer` is a member of `folder` but it is not served now (paused, stopped, starting): it is
   * told so (ERR_FOLDER_UNAVAILABLE) rather than "not a member". Absent: never.
   */
  unavailable?: (folder: string, peer: string) => boolean
}

export interface IndexServiceComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  folders: RecordSources
}

export interface IndexServiceInit {
  /** default DEFAULT_MAX_INBOUND_STREAMS */
  maxInboundStreams?: number
  /** index/2: records with more block entries than this go as skeletons (default DEFAULT_DELTA_MIN_ENTRIES) */
  deltaMinEntries?: number
  /** the log component name; default 'ferry:index:server' */
  logName?: string
}

export interface IndexService extends Startable {
  /** the protocol ids served while started */
  readonly protocols: readonly string[]
}

export interface IndexServerComponents {
  /** the folder's records if `peer` is a member allowed to read it, else undefined */
  folderStore: (peer: string, folder: string, protocol: string) => RecordSource | undefined | Promise<RecordSource | undefined>
  /** see RecordSources.unavailable */
  unavailable?: (peer: string, folder: string) => boolean
  log: Logger
}

/** Which protocol version runs on a stream. */
export interface IndexStreamOptions {
  /** the negotiated protocol id; default `stream.protocol`, else index/3 (in-memory test pairs have none) */
  protocol?: string
  /** index/2 server: records with more block entries than this go as skeletons (default DEFAULT_DELTA_MIN_ENTRIES) */
  deltaMinEntries?: number
}

/** index/1 through the index/2 types: whole records only */
const indexCodecV1 = wholeRecordsOnly(INDEX_PROTOCOL_V1, indexCodec)

/**
 * One stream's messages, in either version: index/1 streams use the index/1 schema (no
 * skeletons, no `want`/`segs`), index/2 streams the index/2 one.
 */
class IndexMessages extends TypedMessageStream<IndexMessageV2> implements DeltaMessages<IndexMessageV2> {
  readonly v2: boolean
  /** index/3: records may name blake3 blocks; an index/1 or /2 peer would refuse such a record */
  readonly blake3: boolean

  constructor (stream: Stream, options: IndexStreamOptions) {
    const protocol = options.protocol ?? stream.protocol ?? INDEX_PROTOCOL_V3
    const v2 = protocol !== INDEX_PROTOCOL_V1
    super(stream, protocol, v2 ? indexCodecV2 : indexCodecV1, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
    this.v2 = v2
    this.blake3 = v2 && protocol !== INDEX_PROTOCOL_V2
  }
}

/** true when every block of the record is named by sha2-256 (what index/1 and /2 peers can read) */
function sha256Only (s: SignedRecord): boolean {
  return s.record.blocks.every(b => blockHashOf(b.cid) === 'sha2-256')
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
    const first = await io.receive({ signal: AbortSignal.timeout(DEFAULT_SUBSCRIBE_TIMEOUT_MS) })
    if (first.type !== 'sub') throw new InvalidMessageError(io.protocol, `expected sub, got ${first.type}`)
    const store = await components.folderStore(peer, first.folder, io.protocol)
    if (store === undefined) {
      // same answer whether the folder exists or not: non-members learn nothing; a member is
      // told the folder is not served now, so that it does not take it for a removal
      await io.send(components.unavailable?.(peer, first.folder) === true ? folderUnavailable(first.folder) : notMember(first.folder))
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
        if (await components.folderStore(peer, first.folder, io.protocol) !== store) {
          await io.send(notMember(first.folder))
          break
        }
        let batch: SignedRecord[] = []
        let batchBytes = 0
        const flush = async (): Promise<void> => {
          const ack = await sendDeltaBatch(io, batch, io.v2 ? options.deltaMinEntries : Infinity)
          if (ack.type !== 'ack') throw new InvalidMessageError(io.protocol, `expected want or ack, got ${ack.type}`)
          batch = []
          batchBytes = 0
        }
        for (const device of store.devices()) {
          if (device === peer) continue // the peer is the authority on its own log
          for await (const s of store.recordsAfter(device, cursor.get(device) ?? 0)) {
            // an older peer cannot read a record naming blake3 blocks: this device's log stops
            // there for it (its position stays before it) until it speaks index/3
            if (!io.blake3 && !sha256Only(s)) break
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
  const onTraffic = handlers.onTraffic
  if (onTraffic !== undefined) io.onFrame = (_m, bytes, direction) => { direction === 'received' ? onTraffic(bytes, 0) : onTraffic(0, bytes) }
  try {
    await io.send({ type: 'sub', folder, positions })
    while (true) {
      const m = await io.receive()
      switch (m.type) {
        case 'recs': {
          const stats: DeltaBatchStats = { skeletons: 0, segments: 0, fetched: 0 }
          // on index/1 every item is whole: nothing is asked
          const pairs = await completeDeltaBatch(io, m.items, handlers.segments, stats)
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

/**
 * The index server as a service: serves /ferry/index/3, /2 and /1 (one handler; it reads the
 * negotiated id from the stream) while started.
 */
export class IndexProtocol extends ProtocolService implements IndexService {
  private readonly components: IndexServiceComponents
  private readonly init: IndexServiceInit
  private readonly log: Logger

  constructor (components: IndexServiceComponents, init: IndexServiceInit = {}) {
    super({ registrar: components.registrar, protocols: INDEX_PROTOCOLS, maxInboundStreams: init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS })
    this.components = components
    this.init = init
    this.log = components.logger.forComponent(init.logName ?? 'ferry:index:server')
  }

  readonly [Symbol.toStringTag] = 'ferry:index'

  protected override async serve (stream: Stream, connection: Connection): Promise<void> {
    const folders = this.components.folders
    const options = this.init.deltaMinEntries === undefined ? {} : { deltaMinEntries: this.init.deltaMinEntries }
    await serveIndex(stream, connection.remotePeer.toString(), {
      folderStore: async (peer, folder, protocol) => await folders.get(folder, peer, protocol),
      unavailable: (peer, folder) => folders.unavailable?.(folder, peer) === true,
      log: this.log
    }, options)
  }
}
