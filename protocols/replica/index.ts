import { ReplicaProtocol, type ReplicaFolder, type ReplicaServerComponents, type ReplicaServiceComponents, type ReplicaServiceInit, type ReplicaService } from './replica-protocol.ts'

export { REPLICA_PROTOCOL_V1, REPLICA_PROTOCOL_V2, REPLICA_PROTOCOL_V3, REPLICA_PROTOCOLS, REPLICA_SERVED_PROTOCOLS, REPLICA_SEALED_PROTOCOLS } from './constants.ts'
export { serveReplica, ReplicaClient, ReplicaProtocol, type ReplicaFolder, type ReplicaServerComponents, type ReplicaStreamOptions, type ReplicaClientOptions, type BlockToSend } from './replica-protocol.ts'
export { decodeReplicaMessage, encodeReplicaMessage, type ReplicaMessage, type ReplicaMessageV2 } from './messages.ts'
export { ERR_NOT_MEMBER, ERR_SEALED_FOLDER, ReplicaRefusal } from './errors.ts'
export type { ReplicaFolders, ReplicaServiceComponents, ReplicaServiceInit, ReplicaService } from './replica-protocol.ts'

/** The relay's upload server (/ferry/replica/2 and /1) as a libp2p-style service. */
export function replicaService (init: ReplicaServiceInit = {}): (components: ReplicaServiceComponents) => ReplicaService {
  return components => new ReplicaProtocol(components, init)
}
