import { JoinWindowProtocol, type JoinWindowServiceComponents } from './join-window-protocol.ts'

export { JOIN_WINDOW_PROTOCOL_V1, JOIN_WINDOW_PROTOCOLS, ERR_NOT_TRUSTED } from './constants.ts'
export { serveJoinWindow, announceJoinWindow, JoinWindowProtocol, type JoinWindowBook, type JoinWindowServiceComponents } from './join-window-protocol.ts'
export { encodeJoinWindowMessage, decodeJoinWindowMessage, type JoinWindowMessage } from './messages.ts'

/** The relay's join-window server (/ferry/join-window/1) as a libp2p-style service. */
export function joinWindowService (): (components: JoinWindowServiceComponents) => JoinWindowProtocol {
  return components => new JoinWindowProtocol(components)
}
