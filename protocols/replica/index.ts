export { REPLICA_PROTOCOL } from './constants.ts'
export { serveReplica, ReplicaClient, type ReplicaFolder, type ReplicaServerComponents, type BlockToSend } from './replica-protocol.ts'
export { decodeReplicaMessage, encodeReplicaMessage, type ReplicaMessage } from './messages.ts'
