import { MAX_BLOCK_BYTES } from '../../src/log/record-codec.ts'

/** v3 = v2's messages; a `want` may name blake3 blocks (v1/v2 peers only know sha2-256 ones); docs/PROTOCOL.md §7 */
export const BLOCKS_PROTOCOL_V3 = '/ferry/blocks/3'
/** v2 = v1 + `hello` (codecs the client accepts) + `zblk` (a compressed block); docs/PROTOCOL.md §7 */
export const BLOCKS_PROTOCOL_V2 = '/ferry/blocks/2'
/** still served and dialled, so peers running an older ferry get (and send) raw blocks */
export const BLOCKS_PROTOCOL_V1 = '/ferry/blocks/1'
/** what a client offers in multistream-select, newest first */
export const BLOCKS_PROTOCOLS: readonly string[] = [BLOCKS_PROTOCOL_V3, BLOCKS_PROTOCOL_V2, BLOCKS_PROTOCOL_V1]
/** a block is at most the chunker's maximum; leave room for the envelope */
export const DEFAULT_MAX_BLOCK_BYTES = MAX_BLOCK_BYTES
export const DEFAULT_MAX_MESSAGE_BYTES = DEFAULT_MAX_BLOCK_BYTES + 1024
export const DEFAULT_MAX_WANTS_PER_MESSAGE = 256
/** client-side window: block bytes (uncompressed) asked for but not yet received */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024
export const DEFAULT_MAX_INBOUND_STREAMS = 64
/** a peer that sends nothing for this long while we wait for blocks is given up on */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000

/** codec names in one `hello` */
export const DEFAULT_MAX_CODECS = 8
export const DEFAULT_MAX_CODEC_NAME_CHARS = 16
/** a block goes compressed only if that saves at least this fraction of it */
export const DEFAULT_MIN_SAVING_RATIO = 0.1
/** the quick check compresses this much of the block's start before compressing the whole */
export const DEFAULT_SAMPLE_BYTES = 8 * 1024
/** compressions on the thread pool at once, per process (the pool has 4 threads; fs needs some) */
export const DEFAULT_MAX_CONCURRENT_COMPRESSIONS = 2
/** blocks a server stream reads and compresses ahead of the one it is sending */
export const DEFAULT_MAX_BLOCKS_AHEAD = 4
/** fast levels: on a LAN the sender's CPU, not the wire, is the limit (bench/compression.ts) */
export const DEFAULT_ZSTD_LEVEL = 1
export const DEFAULT_BROTLI_QUALITY = 1
export const DEFAULT_GZIP_LEVEL = 1
