import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { SignedRecord } from '../../src/log/signed-record.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { IndexProtocol } from './index-protocol.ts'

export { INDEX_PROTOCOL_V1, INDEX_PROTOCOL_V2, INDEX_PROTOCOLS } from './constants.ts'
export { serveIndex, subscribeIndex, IndexProtocol, type IndexServerComponents, type IndexStreamOptions, type IndexSubscriptionHandlers } from './index-protocol.ts'
export { decodeIndexMessage, encodeIndexMessage, type IndexMessage } from './messages.ts'
export { decodeIndexMessageV2, encodeIndexMessageV2, type IndexMessageV2 } from './delta-messages.ts'
export { SegmentIndex, SegmentIndexes, type SegmentLookup, type SegmentSource } from './segment-index.ts'
export { ERR_NOT_MEMBER } from './errors.ts'

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
   * the records of `folder` if `peer` may read them, else undefined; asked again before every
   * pass of a subscription, which ends when the answer is no longer the same source
   */
  get: (folder: string, peer: string) => RecordSource | undefined | Promise<RecordSource | undefined>
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

/** The index server (/ferry/index/2 and /1) as a libp2p-style service. */
export function indexService (init: IndexServiceInit = {}): (components: IndexServiceComponents) => IndexService {
  return components => new IndexProtocol(components, init)
}
