export { HISTORY_PROTOCOL, DEFAULT_MAX_INBOUND_STREAMS } from './constants.ts'
export { serveHistory, fetchHistory, encodeHistoryMessage, decodeHistoryMessage, type HistoryMessage, type HistoryServerComponents } from './history-protocol.ts'
