import { MAX_BLOCK_BYTES } from '../../src/log/record-codec.ts'

export const BLOCKS_PROTOCOL = '/ferry/blocks/1'
/** a block is at most the chunker's maximum; leave room for the envelope */
export const DEFAULT_MAX_BLOCK_BYTES = MAX_BLOCK_BYTES
export const DEFAULT_MAX_MESSAGE_BYTES = DEFAULT_MAX_BLOCK_BYTES + 1024
export const DEFAULT_MAX_WANTS_PER_MESSAGE = 256
/** client-side window: block bytes asked for but not yet received */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024
export const DEFAULT_MAX_INBOUND_STREAMS = 64
/** a peer that sends nothing for this long while we wait for blocks is given up on */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000
