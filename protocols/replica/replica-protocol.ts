import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { openSignedRecord, type SignedRecord } from '../../src/log/signed-record.ts'
import { IdleTimeout } from '../wire/idle-timeout.ts'
import { MessageStream } from '../wire/message-stream.ts'
import { InvalidMessageError, RemoteError, TruncatedStreamError, toError } from '../wire/errors.ts'
import { decodeReplicaMessage, encodeReplicaMessage, type ReplicaMessage } from './messages.ts'
import { cidKey } from '../../src/hashing/block-cid.ts'
import {
  REPLICA_PROTOCOL, DEFAULT_HELLO_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_CIDS_PER_QUERY,
  DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_RECORDS_PER_BATCH, DEFAULT_MAX_UNACKED_BYTES, DEFAULT_MAX_CONCURRENT_BLOCK_WRITES
} from './constants.ts'

/** One folder as the relay holds it, for one upload session. */
export interface ReplicaFolder {
  /** highest seq held per device log */
  positions: () => Record<string, number>
  /** the subset of `cids` not stored, in the same order */
  lacking: (cids: readonly CID[]) => Promise<CID[]>
  /** stores a block durably (fsynced) before resolving; throws if it does not match its cid */
  putBlock: (cid: CID, data: Uint8Array) => Promise<void>
  /** stores verified records durably before resolving; returns how many were new */
  putRecords: (records: readonly SignedRecord[]) => Promise<number>
}

export interface ReplicaServerComponents {
  /** the folder if `peer` may replicate it here (the relay may create it), else undefined */
  openFolder: (peer: string, folder: string) => Promise<ReplicaFolder | undefined>
  /** cuts a peer off that sent malformed messages, forged records or corrupt blocks */
  hangUp: (peer: string, reason: Error) => void
  log: Logger
}

function messages (stream: Stream): MessageStream {
  return new MessageStream(stream, REPLICA_PROTOCOL, {
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    // the uploader keeps up to DEFAULT_MAX_UNACKED_BYTES of blocks in flight behind a message
    maxBufferedBytes: DEFAULT_MAX_UNACKED_BYTES + DEFAULT_MAX_MESSAGE_BYTES
  })
}

async function send (ms: MessageStream, m: ReplicaMessage): Promise<void> {
  await ms.write(encodeReplicaMessage(m))
}

async function receive (ms: MessageStream, options: { signal?: AbortSignal } = {}): Promise<ReplicaMessage> {
  return decodeReplicaMessage(await ms.read(options))
}

/**
 * Relay side of one upload session: after `hello`, answers `has` with what it lacks, stores each
 * `blk` (hash-checked, fsynced) and answers `got`, verifies and stores `recs` and answers `ack`.
 * Every answer is sent only once the data is durable, so an acknowledged item survives a crash.
 */
export async function serveReplica (stream: Stream, peer: string, components: ReplicaServerComponents): Promise<void> {
  const ms = messages(stream)
  try {
    const hello = await receive(ms, { signal: AbortSignal.timeout(DEFAULT_HELLO_TIMEOUT_MS) })
    if (hello.type !== 'hello') throw new InvalidMessageError(REPLICA_PROTOCOL, `expected hello, got ${hello.type}`)
    const folder = await components.openFolder(peer, hello.folder)
    if (folder === undefined) {
      await send(ms, { type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: `not a member of folder ${hello.folder}` })
      await ms.close()
      return
    }
    await send(ms, { type: 'pos', positions: folder.positions() })
    // blocks are written (and fsynced) several at a time; each `got` goes out, in order, as soon
    // as its block and every earlier one are durable, without waiting for the next message
    let writing = 0
    let slotFreed: PromiseWithResolvers<void> | undefined
    let acks: Promise<void> = Promise.resolve()
    let failed: Error | undefined
    while (true) {
      let m: ReplicaMessage
      try {
        m = await receive(ms)
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
        writing++
        const { cid } = m
        const done = folder.putBlock(cid, m.data)
        done.catch(() => {}) // observed by the ack chain
        acks = acks.then(async () => {
          await done
          await send(ms, { type: 'got', cid })
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
          await send(ms, { type: 'lack', cids: await folder.lacking(m.cids) })
          break
        case 'recs': {
          const verified: SignedRecord[] = []
          for (const [bytes, signature] of m.records) {
            const s = await openSignedRecord(bytes, signature)
            if (s.record.folder !== hello.folder) throw new InvalidMessageError(REPLICA_PROTOCOL, `record of folder ${s.record.folder} in a session for ${hello.folder}`)
            verified.push(s)
          }
          const count = await folder.putRecords(verified)
          await send(ms, { type: 'ack', count })
          break
        }
        default:
          throw new InvalidMessageError(REPLICA_PROTOCOL, `unexpected ${m.type}`)
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
export class ReplicaClient {
  private readonly ms: MessageStream
  readonly positions: Record<string, number>
  /** one idle timer for the session, restarted per answer awaited */
  private readonly idle: IdleTimeout

  private constructor (ms: MessageStream, positions: Record<string, number>, idleTimeoutMs: number) {
    this.ms = ms
    this.positions = positions
    this.idle = new IdleTimeout(idleTimeoutMs)
  }

  static async open (stream: Stream, folder: string, options: { idleTimeoutMs?: number } = {}): Promise<ReplicaClient> {
    const ms = messages(stream)
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    try {
      await send(ms, { type: 'hello', folder })
      const m = await receive(ms, { signal: AbortSignal.timeout(idleTimeoutMs) })
      if (m.type === 'err') throw new RemoteError(REPLICA_PROTOCOL, m.code, m.message)
      if (m.type !== 'pos') throw new InvalidMessageError(REPLICA_PROTOCOL, `expected pos, got ${m.type}`)
      return new ReplicaClient(ms, m.positions, idleTimeoutMs)
    } catch (err) {
      ms.abort(err)
      throw toError(err)
    }
  }

  private async answer (): Promise<ReplicaMessage> {
    const m = await this.idle.during(async signal => await receive(this.ms, { signal }))
    if (m.type === 'err') throw new RemoteError(REPLICA_PROTOCOL, m.code, m.message)
    return m
  }

  private async guard<T> (fn: () => Promise<T>): Promise<T> {
    try { return await fn() } catch (err) {
      this.idle.clear()
      this.ms.abort(err)
      throw toError(err)
    }
  }

  /** The subset of `cids` the relay does not hold. */
  async lacking (cids: readonly CID[]): Promise<CID[]> {
    return await this.guard(async () => {
      const out: CID[] = []
      for (let i = 0; i < cids.length; i += DEFAULT_MAX_CIDS_PER_QUERY) {
        const part = cids.slice(i, i + DEFAULT_MAX_CIDS_PER_QUERY)
        await send(this.ms, { type: 'has', cids: part })
        const m = await this.answer()
        if (m.type !== 'lack') throw new InvalidMessageError(REPLICA_PROTOCOL, `expected lack, got ${m.type}`)
        const asked = new Set(part.map(cidKey))
        for (const c of m.cids) {
          if (!asked.has(c.toString())) throw new InvalidMessageError(REPLICA_PROTOCOL, `lack names a cid not asked about: ${c.toString()}`)
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
        if (m.type !== 'got' || expected === undefined || !m.cid.equals(expected.cid)) throw new InvalidMessageError(REPLICA_PROTOCOL, `expected got, got ${m.type}`)
        inFlightBytes -= expected.size
        onAcked(expected)
      }
      for (const b of blocks) {
        const data = await read(b)
        if (data === undefined) { unreadable.push(b); continue }
        while (inFlight.length > 0 && inFlightBytes + data.byteLength > DEFAULT_MAX_UNACKED_BYTES) await awaitOne()
        await send(this.ms, { type: 'blk', cid: b.cid, data })
        inFlight.push(b)
        inFlightBytes += b.size
      }
      while (inFlight.length > 0) await awaitOne()
      return unreadable
    })
  }

  /** Sends records in batches; resolves once the relay acknowledged all of them as durable. */
  async sendRecords (records: readonly SignedRecord[]): Promise<void> {
    await this.guard(async () => {
      let batch: Array<[Uint8Array, Uint8Array]> = []
      let bytes = 0
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return
        await send(this.ms, { type: 'recs', records: batch })
        const m = await this.answer()
        if (m.type !== 'ack') throw new InvalidMessageError(REPLICA_PROTOCOL, `expected ack, got ${m.type}`)
        batch = []
        bytes = 0
      }
      for (const s of records) {
        batch.push([s.bytes, s.signature])
        bytes += s.bytes.byteLength + s.signature.byteLength
        if (batch.length >= DEFAULT_MAX_RECORDS_PER_BATCH || bytes >= DEFAULT_MAX_BATCH_BYTES) await flush()
      }
      await flush()
    })
  }

  async close (): Promise<void> {
    this.idle.clear()
    await this.ms.close()
  }

  abort (err: Error): void {
    this.idle.clear()
    this.ms.abort(err)
  }
}
