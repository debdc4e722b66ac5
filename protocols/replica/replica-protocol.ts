import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { openSignedRecord, type SignedRecord } from '../../src/log/signed-record.ts'
import { IdleTimeout } from '../wire/idle-timeout.ts'
import { ReplicaMessages, type ReplicaStreamOptions } from './replica-messages.ts'
import { InvalidMessageError, RemoteError, TruncatedStreamError, toError } from '../wire/errors.ts'
import { completeDeltaBatch, sendDeltaBatch, type DeltaBatchStats } from '../index/record-delta.ts'
import type { SegmentLookup } from '../index/segment-index.ts'
import type { ReplicaMessageV2 } from './messages.ts'
import { cidKey } from '../../src/hashing/block-cid.ts'
import {
  REPLICA_PROTOCOL_V1, REPLICA_PROTOCOL_V2, REPLICA_PROTOCOL_V3, DEFAULT_HELLO_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_CIDS_PER_QUERY,
  DEFAULT_MAX_RECORDS_PER_BATCH, DEFAULT_MAX_UNACKED_BYTES, DEFAULT_MAX_CONCURRENT_BLOCK_WRITES,
  DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_READ_AHEAD_BLOCKS, REPLICA_SERVED_PROTOCOLS
} from './constants.ts'
import { notMember, ReplicaRefusal } from './errors.ts'
import { FerryError } from '../../src/errors.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ProtocolService } from '../wire/protocol-service.ts'

export type { ReplicaStreamOptions } from './replica-messages.ts'

/** The folders a relay replicates, behind their access check. */
export interface ReplicaFolders {
  /** the folder if `peer` may replicate it here (the relay may create it), else undefined */
  open: (folder: string, peer: string, options: OpenFolderOptions) => Promise<ReplicaFolder | undefined>
  /** cuts a peer off that sent malformed messages, forged records or corrupt blocks */
  hangUp: (peer: string, reason: Error) => void
}

export interface ReplicaServiceComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  replicas: ReplicaFolders
  /** every frame of every session as it passes (type, bytes on the wire including the length prefix) */
  onFrame?: ReplicaServerComponents['onFrame']
  /** replica/2: after each batch with skeletons, how many of its segments were fetched */
  onDeltaBatch?: ReplicaServerComponents['onDeltaBatch']
}

export interface ReplicaServiceInit {
  /** default DEFAULT_MAX_INBOUND_STREAMS */
  maxInboundStreams?: number
  /** the log component name; default 'ferry:replica:server' */
  logName?: string
}

export interface ReplicaService extends Startable {
  /** the protocol ids served while started */
  readonly protocols: readonly string[]
}

/** One folder as the relay holds it, for one upload session. */
export interface ReplicaFolder {
  /** highest seq held per device log */
  positions: () => Record<string, number>
  /** the subset of `cids` not stored, in the same order */
  lacking: (cids: readonly CID[]) => Promise<CID[]>
  /**
   * before a block is written: throws a FerryError to refuse it (the device gets its code and
   * message, the session ends; a quota); may return what to run once the write is over
   */
  admitBlock?: (cid: CID, bytes: number) => Promise<(() => void) | undefined>
  /** stores a block durably (fsynced) before resolving; throws if it does not match its cid */
  putBlock: (cid: CID, data: Uint8Array) => Promise<void>
  /** stores verified records durably before resolving; returns how many were new */
  putRecords: (records: readonly SignedRecord[]) => Promise<number>
  /** replica/2: block-list segments of the records held here; none: every segment is fetched */
  segments?: SegmentLookup
}

export interface ReplicaServerComponents {
  /** the folder if `peer` may replicate it here (the relay may create it), else undefined */
  openFolder: (peer: string, folder: string, options: OpenFolderOptions) => Promise<ReplicaFolder | undefined>
  /** cuts a peer off that sent malformed messages, forged records or corrupt blocks */
  hangUp: (peer: string, reason: Error) => void
  /** every frame of the session as it passes (type, bytes on the wire including the length prefix) */
  onFrame?: (type: ReplicaMessageV2['type'], frameBytes: number, direction: 'received' | 'sent') => void
  /** replica/2: after each batch with skeletons, how many of its segments were fetched */
  onDeltaBatch?: (stats: DeltaBatchStats) => void
  log: Logger
}

export interface OpenFolderOptions {
  /** the session is replica/3: it uploads the folder sealed (may throw ReplicaRefusal) */
  sealed: boolean
}

/**
 * Relay side of one upload session: after `hello`, answers `has` with what it lacks, stores each
 * `blk` (hash-checked, fsynced) and answers `got`, verifies and stores `recs` and answers `ack`.
 * Every answer is sent only once the data is durable, so an acknowledged item survives a crash.
 * On replica/2 a `recs` may carry skeletons: the relay takes the segments it holds from
 * `folder.segments` and asks the device for the rest before verifying (record-delta.ts).
 */
export async function serveReplica (stream: Stream, peer: string, components: ReplicaServerComponents, options: ReplicaStreamOptions = {}): Promise<void> {
  const io = new ReplicaMessages(stream, options)
  const ms = io.ms
  const onFrame = components.onFrame
  if (onFrame !== undefined) io.onFrame = (m, bytes, direction) => { onFrame(m.type, bytes, direction) }
  try {
    const hello = await io.receive({ signal: AbortSignal.timeout(DEFAULT_HELLO_TIMEOUT_MS) })
    if (hello.type !== 'hello') throw new InvalidMessageError(io.protocol, `expected hello, got ${hello.type}`)
    let folder: ReplicaFolder | undefined
    try {
      folder = await components.openFolder(peer, hello.folder, { sealed: io.protocol === REPLICA_PROTOCOL_V3 })
    } catch (err) {
      if (!(err instanceof ReplicaRefusal)) throw err
      await io.send({ type: 'err', code: err.code, message: err.message })
      await ms.close()
      return
    }
    if (folder === undefined) {
      await io.send(notMember(hello.folder))
      await ms.close()
      return
    }
    await io.send({ type: 'pos', positions: folder.positions() })
    // blocks are written (and fsynced) several at a time; each `got` goes out, in order, as soon
    // as its block and every earlier one are durable, without waiting for the next message
    let writing = 0
    let slotFreed: PromiseWithResolvers<void> | undefined
    let acks: Promise<void> = Promise.resolve()
    let failed: Error | undefined
    while (true) {
      let m: ReplicaMessageV2
      try {
        m = await io.receive()
      } catch (err) {
        if (failed !== undefined) throw failed
        if (err instanceof TruncatedStreamError && stream.status !== 'reset' && stream.status !== 'aborted') break // clean end
        throw err
      }
      if (m.type === 'blk') {
        while (writing >= DEFAULT_MAX_CONCURRENT_BLOCK_WRITES) {
          slotFreed = Promise.withResolvers<void>()
          await slotFreed.promise
        }
        if (failed !== undefined) throw failed
        const { cid } = m
        let admitted: (() => void) | undefined
        try {
          admitted = await folder.admitBlock?.(cid, m.data.byteLength)
        } catch (err) {
          if (!(err instanceof FerryError)) throw err
          // refused (a quota): what came before is acknowledged, then the device is told why
          await acks
          await io.send({ type: 'err', code: err.code, message: err.message })
          await ms.close()
          return
        }
        writing++
        const done = folder.putBlock(cid, m.data).finally(() => admitted?.())
        done.catch(() => {}) // observed by the ack chain
        acks = acks.then(async () => {
          await done
          await io.send({ type: 'got', cid })
        }).finally(() => {
          writing--
          slotFreed?.resolve()
        })
        acks.catch(err => {
          failed ??= toError(err)
          ms.abort(failed) // wakes the reader above
        })
        continue
      }
      // a query or a batch of records comes after every block sent before it
      await acks
      switch (m.type) {
        case 'has':
          await io.send({ type: 'lack', cids: await folder.lacking(m.cids) })
          break
        case 'recs': {
          // skeletons (replica/2 only) are rebuilt into the author's exact bytes first; a
          // segment that does not match its id fails here, a wrong head or list in openSignedRecord
          const stats: DeltaBatchStats = { skeletons: 0, segments: 0, fetched: 0 }
          const pairs = await completeDeltaBatch(io, m.items, folder.segments, stats)
          const verified: SignedRecord[] = []
          for (const [bytes, signature] of pairs) {
            const s = await openSignedRecord(bytes, signature)
            if (s.record.folder !== hello.folder) throw new InvalidMessageError(io.protocol, `record of folder ${s.record.folder} in a session for ${hello.folder}`)
            verified.push(s)
          }
          const count = await folder.putRecords(verified)
          await io.send({ type: 'ack', count })
          if (stats.skeletons > 0) components.onDeltaBatch?.(stats)
          break
        }
        default:
          throw new InvalidMessageError(io.protocol, `unexpected ${m.type}`)
      }
    }
    await acks
    await ms.close()
  } catch (e) {
    const err = toError(e)
    components.log('replica session from %s ended: %s', peer, err.message)
    ms.abort(err)
    if (err instanceof InvalidMessageError || err.name === 'InvalidRecordError' || err.name === 'ForgedRecordError' || err.name === 'BlockHashMismatchError') {
      components.hangUp(peer, err)
    }
  }
}

export interface BlockToSend { cid: CID, size: number }

/**
 * Device side of one upload session. Use: `open` (hello), then `lacking`, `sendBlocks`,
 * `sendRecords` in any order, then `close`. Any failure aborts the stream and throws; the next
 * session simply asks again, which is what makes uploads resumable.
 */
export interface ReplicaClientOptions extends ReplicaStreamOptions {
  /** how long to wait for any answer before giving up on the session (default DEFAULT_IDLE_TIMEOUT_MS) */
  idleTimeoutMs?: number
  /** replica/2: records with more block entries than this go as skeletons (default DEFAULT_DELTA_MIN_ENTRIES) */
  deltaMinEntries?: number
  /** every frame of the session as it passes (type, bytes on the wire including the length prefix) */
  onFrame?: ReplicaServerComponents['onFrame']
}

export class ReplicaClient {
  private readonly io: ReplicaMessages
  readonly positions: Record<string, number>
  /** one idle timer for the session, restarted per answer awaited */
  private readonly idle: IdleTimeout
  private readonly deltaMinEntries: number | undefined

  private constructor (io: ReplicaMessages, positions: Record<string, number>, options: ReplicaClientOptions) {
    this.io = io
    this.positions = positions
    this.idle = new IdleTimeout(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS)
    // replica/1 has no skeletons: every record goes whole
    this.deltaMinEntries = io.v2 ? options.deltaMinEntries : Infinity
  }

  /** the protocol version this session runs */
  get protocol (): string { return this.io.protocol }

  static async open (stream: Stream, folder: string, options: ReplicaClientOptions = {}): Promise<ReplicaClient> {
    const io = new ReplicaMessages(stream, options)
    const onFrame = options.onFrame
    if (onFrame !== undefined) io.onFrame = (m, bytes, direction) => { onFrame(m.type, bytes, direction) }
    try {
      await io.send({ type: 'hello', folder })
      const m = await io.receive({ signal: AbortSignal.timeout(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS) })
      if (m.type === 'err') throw new RemoteError(io.protocol, m.code, m.message)
      if (m.type !== 'pos') throw new InvalidMessageError(io.protocol, `expected pos, got ${m.type}`)
      return new ReplicaClient(io, m.positions, options)
    } catch (err) {
      io.ms.abort(err)
      throw toError(err)
    }
  }

  private async answer (): Promise<ReplicaMessageV2> {
    const m = await this.idle.during(async signal => await this.io.receive({ signal }))
    if (m.type === 'err') throw new RemoteError(this.io.protocol, m.code, m.message)
    return m
  }

  private async guard<T> (fn: () => Promise<T>): Promise<T> {
    try { return await fn() } catch (err) {
      this.idle.clear()
      this.io.ms.abort(err)
      throw toError(err)
    }
  }

  /** The subset of `cids` the relay does not hold. */
  async lacking (cids: readonly CID[]): Promise<CID[]> {
    return await this.guard(async () => {
      const out: CID[] = []
      for (let i = 0; i < cids.length; i += DEFAULT_MAX_CIDS_PER_QUERY) {
        const part = cids.slice(i, i + DEFAULT_MAX_CIDS_PER_QUERY)
        await this.io.send({ type: 'has', cids: part })
        const m = await this.answer()
        if (m.type !== 'lack') throw new InvalidMessageError(this.io.protocol, `expected lack, got ${m.type}`)
        const asked = new Set(part.map(cidKey))
        for (const c of m.cids) {
          if (!asked.has(c.toString())) throw new InvalidMessageError(this.io.protocol, `lack names a cid not asked about: ${c.toString()}`)
          out.push(c)
        }
      }
      return out
    })
  }

  /**
   * Sends blocks with up to DEFAULT_MAX_UNACKED_BYTES unacknowledged; `read` gives each block's
   * bytes (undefined: not readable now, skipped). `onAcked` runs once the relay has it durably.
   * Resolves with the blocks that could not be read.
   */
  async sendBlocks (blocks: readonly BlockToSend[], read: (b: BlockToSend) => Promise<Uint8Array | undefined>, onAcked: (b: BlockToSend) => void): Promise<BlockToSend[]> {
    return await this.guard(async () => {
      const unreadable: BlockToSend[] = []
      const inFlight: BlockToSend[] = []
      let inFlightBytes = 0
      const awaitOne = async (): Promise<void> => {
        const m = await this.answer()
        const expected = inFlight.shift()
        if (m.type !== 'got' || expected === undefined || !m.cid.equals(expected.cid)) throw new InvalidMessageError(this.io.protocol, `expected got, got ${m.type}`)
        inFlightBytes -= expected.size
        onAcked(expected)
      }
      // reads run ahead of the sends (a few blocks), so the disk and the wire overlap
      const reads: Array<Promise<Uint8Array | undefined>> = []
      let next = 0
      const topUp = (): void => {
        while (next < blocks.length && reads.length < DEFAULT_READ_AHEAD_BLOCKS) {
          const p = read(blocks[next++]!)
          p.catch(() => {}) // observed below, in order
          reads.push(p)
        }
      }
      for (const b of blocks) {
        topUp()
        const data = await reads.shift()!
        topUp()
        if (data === undefined) { unreadable.push(b); continue }
        while (inFlight.length > 0 && inFlightBytes + data.byteLength > DEFAULT_MAX_UNACKED_BYTES) await awaitOne()
        await this.io.send({ type: 'blk', cid: b.cid, data })
        inFlight.push(b)
        inFlightBytes += b.size
      }
      while (inFlight.length > 0) await awaitOne()
      return unreadable
    })
  }

  /**
   * Sends records in batches; resolves once the relay acknowledged all of them as durable. On
   * replica/2 long block lists go as skeletons and the relay's `want`s are answered from the
   * batch's records until its `ack`.
   */
  async sendRecords (records: readonly SignedRecord[]): Promise<void> {
    await this.guard(async () => {
      const io = { protocol: this.io.protocol, send: async (m: ReplicaMessageV2) => { await this.io.send(m) }, receive: async () => await this.answer() }
      let batch: SignedRecord[] = []
      let bytes = 0
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return
        const m = await sendDeltaBatch(io, batch, this.deltaMinEntries)
        if (m.type !== 'ack') throw new InvalidMessageError(this.io.protocol, `expected ack, got ${m.type}`)
        batch = []
        bytes = 0
      }
      for (const s of records) {
        batch.push(s)
        bytes += s.bytes.byteLength + s.signature.byteLength
        if (batch.length >= DEFAULT_MAX_RECORDS_PER_BATCH || bytes >= DEFAULT_MAX_BATCH_BYTES) await flush()
      }
      await flush()
    })
  }

  async close (): Promise<void> {
    this.idle.clear()
    await this.io.ms.close()
  }

  abort (err: Error): void {
    this.idle.clear()
    this.io.ms.abort(err)
  }
}

/**
 * The relay's upload server as a service: serves /ferry/replica/2 and /1 (one handler; it reads
 * the negotiated id from the stream) while started.
 */
export class ReplicaProtocol extends ProtocolService implements ReplicaService {
  private readonly components: ReplicaServiceComponents
  private readonly log: Logger

  constructor (components: ReplicaServiceComponents, init: ReplicaServiceInit = {}) {
    super({ registrar: components.registrar, protocols: REPLICA_SERVED_PROTOCOLS, maxInboundStreams: init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS })
    this.components = components
    this.log = components.logger.forComponent(init.logName ?? 'ferry:replica:server')
  }

  readonly [Symbol.toStringTag] = 'ferry:replica'

  protected override async serve (stream: Stream, connection: Connection): Promise<void> {
    const { replicas, onFrame, onDeltaBatch } = this.components
    await serveReplica(stream, connection.remotePeer.toString(), {
      openFolder: async (peer, folder, options) => await replicas.open(folder, peer, options),
      hangUp: (peer, reason) => { replicas.hangUp(peer, reason) },
      ...(onFrame === undefined ? {} : { onFrame }),
      ...(onDeltaBatch === undefined ? {} : { onDeltaBatch }),
      log: this.log
    })
  }
}
