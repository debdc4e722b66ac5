import { JoinProtocol, type JoinServiceComponents, type JoinServiceInit, type JoinService } from './join-protocol.ts'
import type { JoinRequest, JoinRole } from './messages.ts'

export { JOIN_PROTOCOL_V1, JOIN_PROTOCOL_V2, JOIN_PROTOCOLS, SECRET_BYTES } from './constants.ts'
export { serveJoin, requestJoin, requestJoinWithKeys, JoinProtocol, type JoinServerComponents } from './join-protocol.ts'
export { decodeJoinMessage, encodeJoinMessage, type JoinMessage, type JoinRequest, type JoinRole } from './messages.ts'
export { ERR_JOIN_REFUSED } from './errors.ts'
export type { JoinInvitations, JoinServiceComponents, JoinServiceInit, JoinService } from './join-protocol.ts'

/** The join server (/ferry/join/2 and /1) as a libp2p-style service. */
export function joinService (init: JoinServiceInit = {}): (components: JoinServiceComponents) => JoinService {
  return components => new JoinProtocol(components, init)
}
