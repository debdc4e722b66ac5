/** Version is part of the id: a new wire format gets a new id. */
export const HISTORY_PROTOCOL_V1 = '/ferry/history/1'
/** what a server handles and a client offers */
export const HISTORY_PROTOCOLS: readonly string[] = [HISTORY_PROTOCOL_V1]
/** the answer carries whole records (a 10 GiB file's block list is ~2 MiB) */
export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024
/** versions of one path returned at most (newest kept) */
export const DEFAULT_MAX_RECORDS = 1024
export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_INBOUND_STREAMS = 8
