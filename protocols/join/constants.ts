/** Version is part of the id: a new wire format gets a new id. */
export const JOIN_PROTOCOL_V1 = '/ferry/join/1'
/** /1 and the folder's keyring in `welcome` */
export const JOIN_PROTOCOL_V2 = '/ferry/join/2'
/** what a server handles and a client offers, newest first */
export const JOIN_PROTOCOLS: readonly string[] = [JOIN_PROTOCOL_V2, JOIN_PROTOCOL_V1]
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024
export const SECRET_BYTES = 32
export const DEFAULT_MAX_ADDRS = 16
export const DEFAULT_MAX_ADDR_CHARS = 256
/** the server waits this long for `join`, the client this long for the answer */
export const DEFAULT_TIMEOUT_MS = 10_000
/** one join at a time per connection is plenty */
export const DEFAULT_MAX_INBOUND_STREAMS = 2
