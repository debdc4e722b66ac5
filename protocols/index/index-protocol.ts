import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { FolderStore } from '../../src/store/folder-store.ts'
import { encodeSignedRecord } from '../../src/log/signed-record.ts'
import { MessageStream } from '../wire/message-stream.ts'
import { InvalidMessageError, RemoteError, toError } from '../wire/errors.ts'
import { decodeIndexMessage, encodeIndexMessage, type IndexMessage } from './messages.ts'
import {
  INDEX_PROTOCOL, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_RECORDS_PER_BATCH
} from './constants.ts'

export interface IndexServerComponents {
  /** the folder's store if `peer` is a member allowed to read it, else undefined */
  folderStore: (peer: string, folder: string) => FolderStore | undefined | Promise<FolderStore | undefined>
  log: Logger
}

const SUBSCRIBE_TIMEOUT_MS = 10_000

function messages (stream: Stream): MessageStream {
  return new MessageStream(stream, INDEX_PROTOCOL, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
}

async function send (ms: MessageStream, m: IndexMessage): Promise<void> {
  await ms.write(encodeIndexMessage(m))
}

async function receive (ms: MessageStream, options: { signal?: AbortSignal } = {}): Promise<IndexMessage> {
  return decodeIndexMessage(await ms.read(options))
}

/**
 * Serves one subscription: everything the store holds after the client's positions, in
 * batches the client acknowledges, then 'synced'; then keeps the stream open and pushes every
 * new record as it lands (cursor-based, so nothing falls between backlog and live updates).
 */
export async function serveIndex (stream: Stream, peer: string, components: IndexServerComponents): Promise<void> {
  const ms = messages(stream)
  try {
    const first = await receive(ms, { signal: AbortSignal.timeout(SUBSCRIBE_TIMEOUT_MS) })
    if (first.type !== 'sub') throw new InvalidMessageError(INDEX_PROTOCOL, `expected sub, got ${first.type}`)
    const store = await components.folderStore(peer, first.folder)
    if (store === undefined) {
      // same answer whether the folder exists or not: non-members learn nothing
      await send(ms, { type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: `not a member of folder ${first.folder}` })
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
          await send(ms, { type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: `not a member of folder ${first.folder}` })
          break
        }
        let batch: Array<[Uint8Array, Uint8Array]> = []
        let batchBytes = 0
        const flush = async (): Promise<void> => {
          await send(ms, { type: 'recs', records: batch })
          const ack = await receive(ms)
          if (ack.type !== 'ack') throw new InvalidMessageError(INDEX_PROTOCOL, `expected ack, got ${ack.type}`)
          batch = []
          batchBytes = 0
        }
        for (const device of store.devices()) {
          if (device === peer) continue // the peer is the authority on its own log
          for await (const s of store.recordsAfter(device, cursor.get(device) ?? 0)) {
            batch.push([s.bytes, s.signature])
            batchBytes += s.bytes.byteLength + s.signature.byteLength
            cursor.set(device, s.record.seq)
            if (batch.length >= DEFAULT_MAX_RECORDS_PER_BATCH || batchBytes >= DEFAULT_MAX_BATCH_BYTES) await flush()
          }
        }
        if (batch.length > 0) await flush()
        await send(ms, { type: 'synced' })
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
}

/** Client side: subscribes to `folder` after `positions`; runs until the stream ends or fails. */
export async function subscribeIndex (stream: Stream, folder: string, positions: Record<string, number>, handlers: IndexSubscriptionHandlers): Promise<void> {
  const ms = messages(stream)
  try {
    await send(ms, { type: 'sub', folder, positions })
    while (true) {
      const m = await receive(ms)
      switch (m.type) {
        case 'recs':
          await handlers.onRecords(m.records)
          await send(ms, { type: 'ack' })
          break
        case 'synced':
          handlers.onSynced()
          break
        case 'err':
          throw new RemoteError(INDEX_PROTOCOL, m.code, m.message)
        default:
          throw new InvalidMessageError(INDEX_PROTOCOL, `unexpected ${m.type}`)
      }
    }
  } catch (err) {
    ms.abort(err)
    throw toError(err)
  }
}
