export { INDEX_PROTOCOL } from './constants.ts'
export { serveIndex, subscribeIndex, type IndexServerComponents, type IndexSubscriptionHandlers } from './index-protocol.ts'
export { decodeIndexMessage, encodeIndexMessage, type IndexMessage } from './messages.ts'
