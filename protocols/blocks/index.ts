import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { BlocksProtocol, type BlocksServiceComponents, type BlocksServiceInit, type BlocksService } from './blocks-protocol.ts'
import type { BlockCompressor } from './compression.ts'

export { BLOCKS_PROTOCOL_V3, BLOCKS_PROTOCOL_V2, BLOCKS_PROTOCOL_V1, BLOCKS_PROTOCOLS } from './constants.ts'
export { serveBlocks, fetchBlocks, BlocksProtocol, type BlocksServerComponents, type WantedBlock, type FetchBlocksOptions } from './blocks-protocol.ts'
export { CorruptBlockError, InvalidCompressedBlockError } from './errors.ts'
export { BlockCompressor, availableCodecs, type Codec } from './compression.ts'
export { decodeBlocksMessage, encodeBlocksMessage, type BlocksMessage } from './messages.ts'
export { blockBytesMatch, blockParts, contiguous, ScratchBuffer, writeBlockBytes, type BlockBytes } from './block-bytes.ts'
export type { ProtocolRegistrar } from '../wire/registrar.ts'
export type { BlockReader, BlocksServiceComponents, BlocksServiceInit, BlocksService } from './blocks-protocol.ts'

/** The block server (/ferry/blocks/2 and /1) as a libp2p-style service. */
export function blocksService (init: BlocksServiceInit = {}): (components: BlocksServiceComponents) => BlocksService {
  return components => new BlocksProtocol(components, init)
}
