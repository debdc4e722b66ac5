export { BLOCKS_PROTOCOL } from './constants.ts'
export { serveBlocks, fetchBlocks, CorruptBlockError, type BlocksServerComponents, type WantedBlock, type FetchBlocksOptions } from './blocks-protocol.ts'
export { decodeBlocksMessage, encodeBlocksMessage, type BlocksMessage } from './messages.ts'
