/** Version is part of the id: a new wire format gets a new id. */
export const INDEX_PROTOCOL_V1 = '/ferry/index/1'
/** index/1 plus record deltas: long block lists travel as segments the receiver may already hold */
export const INDEX_PROTOCOL_V2 = '/ferry/index/2'
/** index/2's messages; records may name blake3 blocks (index/1 and /2 peers are sent none: they refuse them) */
export const INDEX_PROTOCOL_V3 = '/ferry/index/3'
/** what a client offers and a server handles, preferred first */
export const INDEX_PROTOCOLS = [INDEX_PROTOCOL_V3, INDEX_PROTOCOL_V2, INDEX_PROTOCOL_V1] as const
/** largest message we read; one record may carry a 10 GiB file's block list */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
export const DEFAULT_MAX_RECORDS_PER_BATCH = 512
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024
export const DEFAULT_MAX_POSITIONS = 4096
export const DEFAULT_MAX_INBOUND_STREAMS = 64
/** a server waits this long for the client's `sub` */
export const DEFAULT_SUBSCRIBE_TIMEOUT_MS = 10_000

// Record deltas (index/2, docs/PROTOCOL.md §4.5)
/** a record whose block list has more entries than this goes as a skeleton, not whole */
export const DEFAULT_DELTA_MIN_ENTRIES = 256
/** a segment never ends before this many entries (the last segment of a list may be shorter) */
export const SEGMENT_MIN_ENTRIES = 16
/** a segment always ends at this many entries */
export const SEGMENT_MAX_ENTRIES = 128
/** a segment ends after an entry whose digest's first two bytes, big-endian, are 0 modulo this */
export const SEGMENT_BOUNDARY_MODULUS = 64
/** segment id: sha2-256 of the segment's entries, as they are in the record bytes */
export const SEGMENT_ID_BYTES = 32
/** entries one `want` may ask for (its `segs` answer is then at most ~2.9 MiB) */
export const DEFAULT_MAX_WANT_ENTRIES = 65_536
/** segment indices one `want` may name */
export const DEFAULT_MAX_WANT_SEGMENTS = 4096
