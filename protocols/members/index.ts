import { MembersProtocol, type MembersServiceComponents, type MembersServiceInit, type MembersService } from './members-protocol.ts'

export { MEMBERS_PROTOCOL_V1, MEMBERS_PROTOCOLS } from './constants.ts'
export { serveMembers, MembersClient, MembersProtocol, type MemberLists, type MembersServiceComponents, type MembersServiceInit, type MembersService } from './members-protocol.ts'
export { encodeMembersMessage, decodeMembersMessage, type MembersMessage, type MemberListEnvelope } from './messages.ts'
export { ERR_NOT_MEMBER } from './errors.ts'

/** The relay's member-list server (/ferry/members/1) as a libp2p-style service. */
export function membersService (init: MembersServiceInit = {}): (components: MembersServiceComponents) => MembersService {
  return components => new MembersProtocol(components, init)
}
