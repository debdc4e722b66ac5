/** Version is part of the id: a new wire format gets a new id. */
export const SEALED_KEYRING_PROTOCOL_V1 = '/ferry/sealed-keyring/1'
export const SEALED_KEYRING_PROTOCOLS: readonly string[] = [SEALED_KEYRING_PROTOCOL_V1]
/** a sealed keyring of 1024 keys is ~60 KiB */
export const DEFAULT_MAX_BLOB_BYTES = 96 * 1024
export const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024
export const DEFAULT_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_INBOUND_STREAMS = 4
