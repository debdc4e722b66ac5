import { HistoryProtocol, type HistoryServiceComponents, type HistoryServiceInit, type HistoryService } from './history-protocol.ts'

export { HISTORY_PROTOCOL_V1, HISTORY_PROTOCOLS, DEFAULT_MAX_INBOUND_STREAMS } from './constants.ts'
export { serveHistory, fetchHistory, HistoryProtocol, type HistoryServerComponents } from './history-protocol.ts'
export { encodeHistoryMessage, decodeHistoryMessage, type HistoryMessage } from './messages.ts'
export { ERR_NOT_MEMBER } from './errors.ts'
export type { HistorySource, HistoryServiceComponents, HistoryServiceInit, HistoryService } from './history-protocol.ts'

/** The history server (/ferry/history/1) as a libp2p-style service. */
export function historyService (init: HistoryServiceInit = {}): (components: HistoryServiceComponents) => HistoryService {
  return components => new HistoryProtocol(components, init)
}
