import { DEFAULT_MAX_BLOCK_BYTES } from '../blocks/constants.ts'

/** Version is part of the id: a new wire format gets a new id. */
export const REPLICA_PROTOCOL_V1 = '/ferry/replica/1'
/** replica/1 plus record deltas: long block lists travel as segments the relay may already hold */
export const REPLICA_PROTOCOL_V2 = '/ferry/replica/2'
/**
 * replica/2's messages for a sealed folder: records are envelopes of encrypted records and blocks
 * are ciphertext (up to the AEAD tag over the chunker's maximum). A folder uploaded through it is
 * sealed on the relay: its plaintext records from older sessions are dropped, and replica/1 and
 * /2 sessions for it are refused from then on.
 */
export const REPLICA_PROTOCOL_V3 = '/ferry/replica/3'
/** the plaintext versions (what older devices offer), preferred first */
export const REPLICA_PROTOCOLS = [REPLICA_PROTOCOL_V2, REPLICA_PROTOCOL_V1] as const
/** what a relay handles */
export const REPLICA_SERVED_PROTOCOLS = [REPLICA_PROTOCOL_V3, ...REPLICA_PROTOCOLS] as const
/** what a device offers: only sealed uploads (a relay that cannot take them gets nothing) */
export const REPLICA_SEALED_PROTOCOLS = [REPLICA_PROTOCOL_V3] as const
/** `recs` may carry a record with a 10 GiB file's block list; `blk` at most one block */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
export const DEFAULT_MAX_BLOCK_BYTES_PER_MESSAGE = DEFAULT_MAX_BLOCK_BYTES
export const DEFAULT_MAX_CIDS_PER_QUERY = 1024
/** the same batch bounds as the index protocol's: replica/2 shares its record-delta code and limits */
export { DEFAULT_MAX_RECORDS_PER_BATCH, DEFAULT_MAX_BATCH_BYTES } from '../index/constants.ts'
export const DEFAULT_MAX_POSITIONS = 4096
/** uploader: block bytes sent but not yet acknowledged (durable) by the relay */
export const DEFAULT_MAX_UNACKED_BYTES = 8 * 1024 * 1024
/** uploader: blocks read from disk ahead of the one being sent */
export const DEFAULT_READ_AHEAD_BLOCKS = 4
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000
/** uploader: how long to wait for any answer before giving up on the session */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000
export const DEFAULT_MAX_INBOUND_STREAMS = 16
/** relay: blocks of one session written and fsynced at once (fsync latency, not bandwidth, is the limit) */
export const DEFAULT_MAX_CONCURRENT_BLOCK_WRITES = 16
