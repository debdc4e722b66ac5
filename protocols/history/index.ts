import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { SignedRecord } from '../../src/log/signed-record.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { HistoryProtocol } from './history-protocol.ts'

export { HISTORY_PROTOCOL_V1, HISTORY_PROTOCOLS, DEFAULT_MAX_INBOUND_STREAMS } from './constants.ts'
export { serveHistory, fetchHistory, HistoryProtocol, type HistoryServerComponents } from './history-protocol.ts'
export { encodeHistoryMessage, decodeHistoryMessage, type HistoryMessage } from './messages.ts'
export { ERR_NOT_MEMBER } from './errors.ts'

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

/** The history server (/ferry/history/1) as a libp2p-style service. */
export function historyService (init: HistoryServiceInit = {}): (components: HistoryServiceComponents) => HistoryService {
  return components => new HistoryProtocol(components, init)
}
