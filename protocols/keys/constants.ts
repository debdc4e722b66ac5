/** Version is part of the id: a new wire format gets a new id. */
export const KEYS_PROTOCOL_V1 = '/ferry/keys/1.0.0'
/** what a server handles and a client offers */
export const KEYS_PROTOCOLS: readonly string[] = [KEYS_PROTOCOL_V1]
/** a keyring of this many keys is 1024 rekeys: far beyond any real folder */
export const DEFAULT_MAX_KEYS = 1024
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024
/** the server waits this long for the question, the client this long for the answer */
export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_INBOUND_STREAMS = 4
