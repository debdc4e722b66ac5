import { IndexProtocol, type IndexServiceComponents, type IndexServiceInit, type IndexService } from './index-protocol.ts'

export { INDEX_PROTOCOL_V1, INDEX_PROTOCOL_V2, INDEX_PROTOCOL_V3, INDEX_PROTOCOLS } from './constants.ts'
export { serveIndex, subscribeIndex, IndexProtocol, type IndexServerComponents, type IndexStreamOptions, type IndexSubscriptionHandlers } from './index-protocol.ts'
export { decodeIndexMessage, encodeIndexMessage, type IndexMessage } from './messages.ts'
export { decodeIndexMessageV2, encodeIndexMessageV2, type IndexMessageV2 } from './delta-messages.ts'
export { SegmentIndex, SegmentIndexes, type SegmentLookup, type SegmentSource } from './segment-index.ts'
export { ERR_NOT_MEMBER, ERR_FOLDER_UNAVAILABLE } from './errors.ts'
export type { RecordSource, RecordSources, IndexServiceComponents, IndexServiceInit, IndexService } from './index-protocol.ts'

/** The index server (/ferry/index/2 and /1) as a libp2p-style service. */
export function indexService (init: IndexServiceInit = {}): (components: IndexServiceComponents) => IndexService {
  return components => new IndexProtocol(components, init)
}
