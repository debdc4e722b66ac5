import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import { openSignedRecord, type SignedRecord } from '../../src/log/signed-record.ts'
import { validatePath } from '../../src/model/paths.ts'
import { InvalidMessageError } from '../wire/errors.ts'
import { answerOnce, askOnce, type ExchangeCodec } from '../wire/one-exchange.ts'
import { DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_RECORDS, DEFAULT_TIMEOUT_MS, HISTORY_PROTOCOL_V1, HISTORY_PROTOCOLS } from './constants.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ProtocolService } from '../wire/protocol-service.ts'
import { decodeHistoryMessage, encodeHistoryMessage, type HistoryMessage } from './messages.ts'
import { notMember } from './errors.ts'

/** What the history server answers from. */
export interface HistorySource {
  /** every signed record of `path` kept in `folder` (newest first), or undefined if `peer` may not read it */
  recordsOf: (peer: string, folder: string, path: string) => Promise<SignedRecord[] | undefined>
}

export interface HistoryServiceComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  history: HistorySource
}

export interface HistoryServiceInit {
  /** default DEFAULT_MAX_INBOUND_STREAMS */
  maxInboundStreams?: number
  /** the log component name; default 'ferry:history:server' */
  logName?: string
}

export interface HistoryService extends Startable {
  /** the protocol ids served while started */
  readonly protocols: readonly string[]
}

const codec: ExchangeCodec<HistoryMessage> = { protocol: HISTORY_PROTOCOL_V1, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, encode: encodeHistoryMessage, decode: decodeHistoryMessage }

export interface HistoryServerComponents {
  /** every signed record of `path` kept in `folder` (newest first), or undefined if `peer` may not read it */
  recordsOf: (peer: string, folder: string, path: string) => Promise<SignedRecord[] | undefined>
  log: Logger
}

/** Answers one `get` and closes. */
export async function serveHistory (stream: Stream, peer: string, components: HistoryServerComponents): Promise<void> {
  await answerOnce(stream, codec, {
    peer,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    log: components.log,
    what: 'history',
    answer: async (m): Promise<HistoryMessage> => {
      if (m.type !== 'get') throw new InvalidMessageError(HISTORY_PROTOCOL_V1, `expected get, got ${m.type}`)
      const records = await components.recordsOf(peer, m.folder, m.path)
      return records === undefined ? notMember(m.folder) : { type: 'recs', records: records.slice(0, DEFAULT_MAX_RECORDS).map(s => [s.bytes, s.signature]) }
    }
  })
}

/**
 * Asks for every record of `path` the server keeps. Each one is signature-checked and must be
 * of this folder and path (a server cannot invent or misplace versions); ForgedRecordError or
 * InvalidMessageError otherwise.
 */
export async function fetchHistory (stream: Stream, folder: string, path: string, signal: AbortSignal = AbortSignal.timeout(DEFAULT_TIMEOUT_MS)): Promise<SignedRecord[]> {
  const m = await askOnce(stream, codec, { type: 'get', folder, path: validatePath(path) }, signal)
  if (m.type !== 'recs') throw new InvalidMessageError(HISTORY_PROTOCOL_V1, `expected recs, got ${m.type}`)
  const out: SignedRecord[] = []
  for (const [bytes, signature] of m.records) {
    const s = await openSignedRecord(bytes, signature)
    if (s.record.folder !== folder || s.record.path !== path) throw new InvalidMessageError(HISTORY_PROTOCOL_V1, `record of ${s.record.folder}/${s.record.path} in an answer for ${folder}/${path}`)
    out.push(s)
  }
  return out
}

/** The history server (/ferry/history/1) as a service: one question per stream, while started. */
export class HistoryProtocol extends ProtocolService implements HistoryService {
  private readonly components: HistoryServiceComponents
  private readonly log: Logger

  constructor (components: HistoryServiceComponents, init: HistoryServiceInit = {}) {
    super({ registrar: components.registrar, protocols: HISTORY_PROTOCOLS, maxInboundStreams: init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS })
    this.components = components
    this.log = components.logger.forComponent(init.logName ?? 'ferry:history:server')
  }

  readonly [Symbol.toStringTag] = 'ferry:history'

  protected override async serve (stream: Stream, connection: Connection): Promise<void> {
    const history = this.components.history
    await serveHistory(stream, connection.remotePeer.toString(), {
      recordsOf: async (peer, folder, path) => await history.recordsOf(peer, folder, path),
      log: this.log
    })
  }
}
