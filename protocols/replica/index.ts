export { REPLICA_PROTOCOL, REPLICA_PROTOCOL_2, REPLICA_PROTOCOLS } from './constants.ts'
export { serveReplica, ReplicaClient, type ReplicaFolder, type ReplicaServerComponents, type ReplicaStreamOptions, type ReplicaClientOptions, type BlockToSend } from './replica-protocol.ts'
export { decodeReplicaMessage, encodeReplicaMessage, type ReplicaMessage, type ReplicaMessageV2 } from './messages.ts'
