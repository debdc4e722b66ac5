import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ReplicaProtocol, type ReplicaFolder, type ReplicaServerComponents } from './replica-protocol.ts'

export { REPLICA_PROTOCOL_V1, REPLICA_PROTOCOL_V2, REPLICA_PROTOCOLS } from './constants.ts'
export { serveReplica, ReplicaClient, ReplicaProtocol, type ReplicaFolder, type ReplicaServerComponents, type ReplicaStreamOptions, type ReplicaClientOptions, type BlockToSend } from './replica-protocol.ts'
export { decodeReplicaMessage, encodeReplicaMessage, type ReplicaMessage, type ReplicaMessageV2 } from './messages.ts'
export { ERR_NOT_MEMBER } from './errors.ts'

/** The folders a relay replicates, behind their access check. */
export interface ReplicaFolders {
  /** the folder if `peer` may replicate it here (the relay may create it), else undefined */
  open: (folder: string, peer: string) => Promise<ReplicaFolder | undefined>
  /** cuts a peer off that sent malformed messages, forged records or corrupt blocks */
  hangUp: (peer: string, reason: Error) => void
}

export interface ReplicaServiceComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  replicas: ReplicaFolders
  /** every frame of every session as it passes (type, bytes on the wire including the length prefix) */
  onFrame?: ReplicaServerComponents['onFrame']
  /** replica/2: after each batch with skeletons, how many of its segments were fetched */
  onDeltaBatch?: ReplicaServerComponents['onDeltaBatch']
}

export interface ReplicaServiceInit {
  /** default DEFAULT_MAX_INBOUND_STREAMS */
  maxInboundStreams?: number
  /** the log component name; default 'ferry:replica:server' */
  logName?: string
}

export interface ReplicaService extends Startable {
  /** the protocol ids served while started */
  readonly protocols: readonly string[]
}

/** The relay's upload server (/ferry/replica/2 and /1) as a libp2p-style service. */
export function replicaService (init: ReplicaServiceInit = {}): (components: ReplicaServiceComponents) => ReplicaService {
  return components => new ReplicaProtocol(components, init)
}
