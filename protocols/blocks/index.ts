import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { BlocksProtocol } from './blocks-protocol.ts'
import type { BlockCompressor } from './compression.ts'

export { BLOCKS_PROTOCOL_V2, BLOCKS_PROTOCOL_V1, BLOCKS_PROTOCOLS } from './constants.ts'
export { serveBlocks, fetchBlocks, BlocksProtocol, type BlocksServerComponents, type WantedBlock, type FetchBlocksOptions } from './blocks-protocol.ts'
export { CorruptBlockError, InvalidCompressedBlockError } from './errors.ts'
export { BlockCompressor, availableCodecs, type Codec } from './compression.ts'
export { decodeBlocksMessage, encodeBlocksMessage, type BlocksMessage } from './messages.ts'
export { blockBytesMatch, blockParts, contiguous, writeBlockBytes, type BlockBytes } from './block-bytes.ts'
export type { ProtocolRegistrar } from '../wire/registrar.ts'

/** Where the block server reads blocks, and who may read which folder's. */
export interface BlockReader {
  /** true when `peer` may read blocks of `folder` (asked per want-list) */
  mayRead: (peer: string, folder: string) => boolean
  /** the verified bytes of `cid` from `folder`, or undefined; `peer` is who asked (for metrics) */
  readBlock: (peer: string, folder: string, cid: CID) => Promise<Uint8Array | undefined>
}

export interface BlocksServiceComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  blocks: BlockReader
}

export interface BlocksServiceInit {
  /** default DEFAULT_MAX_INBOUND_STREAMS */
  maxInboundStreams?: number
  /** the log component name; default 'ferry:blocks:server' */
  logName?: string
  /** default: one of the service's own */
  compressor?: BlockCompressor
}

export interface BlocksService extends Startable {
  /** the protocol ids served while started */
  readonly protocols: readonly string[]
}

/** The block server (/ferry/blocks/2 and /1) as a libp2p-style service. */
export function blocksService (init: BlocksServiceInit = {}): (components: BlocksServiceComponents) => BlocksService {
  return components => new BlocksProtocol(components, init)
}
