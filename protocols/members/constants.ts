/** Version is part of the id: a new wire format gets a new id. */
export const MEMBERS_PROTOCOL_V1 = '/ferry/members/1'
/** what a relay handles and a device offers */
export const MEMBERS_PROTOCOLS: readonly string[] = [MEMBERS_PROTOCOL_V1]
/** a list of MAX_MEMBERS members with its signature fits many times */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024
export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_INBOUND_STREAMS = 8
