export { JOIN_PROTOCOL, SECRET_BYTES } from './constants.ts'
export { serveJoin, requestJoin, type JoinRequest, type JoinServerComponents } from './join-protocol.ts'
export { decodeJoinMessage, encodeJoinMessage, type JoinMessage, type JoinRole } from './messages.ts'
