/** Version is part of the id: a new wire format gets a new id. */
export const JOIN_WINDOW_PROTOCOL_V1 = '/ferry/join-window/1'
export const JOIN_WINDOW_PROTOCOLS: readonly string[] = [JOIN_WINDOW_PROTOCOL_V1]
export const DEFAULT_MAX_MESSAGE_BYTES = 1024
export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_INBOUND_STREAMS = 2
/** the `err` code for a device the relay does not trust */
export const ERR_NOT_TRUSTED = 'ERR_FERRY_NOT_TRUSTED'
