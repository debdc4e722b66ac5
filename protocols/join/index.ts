import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { JoinProtocol } from './join-protocol.ts'
import type { JoinRequest, JoinRole } from './messages.ts'

export { JOIN_PROTOCOL_V1, JOIN_PROTOCOLS, SECRET_BYTES } from './constants.ts'
export { serveJoin, requestJoin, JoinProtocol, type JoinServerComponents } from './join-protocol.ts'
export { decodeJoinMessage, encodeJoinMessage, type JoinMessage, type JoinRequest, type JoinRole } from './messages.ts'
export { ERR_JOIN_REFUSED } from './errors.ts'

/** Where the join server checks invitations. */
export interface JoinInvitations {
  /**
   * Checks the secret and records the peer as a member; returns its role. Throws an error
   * with a `code` (one-line message) to refuse: used, expired or unknown invitation.
   */
  acceptJoin: (peer: string, request: JoinRequest) => Promise<JoinRole>
  /** called once the joiner has read its `welcome`: apply the new member */
  joined: (peer: string, role: JoinRole) => Promise<void>
}

export interface JoinServiceComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  invitations: JoinInvitations
  /** a peer not trusted after its join has its connection closed */
  isTrusted: (peer: string) => boolean
}

export interface JoinServiceInit {
  /** default DEFAULT_MAX_INBOUND_STREAMS */
  maxInboundStreams?: number
  /** the log component name; default 'ferry:join:server' */
  logName?: string
}

export interface JoinService extends Startable {
  /** the protocol ids served while started */
  readonly protocols: readonly string[]
}

/** The join server (/ferry/join/1) as a libp2p-style service. */
export function joinService (init: JoinServiceInit = {}): (components: JoinServiceComponents) => JoinService {
  return components => new JoinProtocol(components, init)
}
