/** Version is part of the id: a new wire format gets a new id. */
export const INDEX_PROTOCOL = '/ferry/index/1'
/** largest message we read; one record may carry a 10 GiB file's block list */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
export const DEFAULT_MAX_RECORDS_PER_BATCH = 512
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024
export const DEFAULT_MAX_POSITIONS = 4096
export const DEFAULT_MAX_INBOUND_STREAMS = 64
