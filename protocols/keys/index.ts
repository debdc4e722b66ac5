import { KeysProtocol, type KeysServiceComponents, type KeysServiceInit, type KeysService } from './keys-protocol.ts'

export { KEYS_PROTOCOL_V1, KEYS_PROTOCOLS } from './constants.ts'
export { serveKeys, exchangeKeys, KeysProtocol } from './keys-protocol.ts'
export { encodeKeysMessage, decodeKeysMessage, decodeKeyList, type KeysMessage } from './messages.ts'
export { ERR_NOT_MEMBER } from './errors.ts'
export type { KeyExchangeHandler, KeysServiceComponents, KeysServiceInit, KeysService } from './keys-protocol.ts'

/** The keys server (/ferry/keys/1.0.0) as a libp2p-style service. */
export function keysService (init: KeysServiceInit = {}): (components: KeysServiceComponents) => KeysService {
  return components => new KeysProtocol(components, init)
}
