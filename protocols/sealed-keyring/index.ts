import { SealedKeyringProtocol, type SealedKeyringServiceComponents } from './sealed-keyring-protocol.ts'

export { SEALED_KEYRING_PROTOCOL_V1, SEALED_KEYRING_PROTOCOLS } from './constants.ts'
export { serveSealedKeyring, putSealedKeyring, getSealedKeyring, SealedKeyringProtocol, ERR_NOT_MEMBER, type SealedKeyringStore, type SealedKeyringServiceComponents } from './sealed-keyring-protocol.ts'
export { encodeSealedKeyringMessage, decodeSealedKeyringMessage, type SealedKeyringMessage } from './messages.ts'

/** The relay's sealed-keyring server (/ferry/sealed-keyring/1) as a libp2p-style service. */
export function sealedKeyringService (): (components: SealedKeyringServiceComponents) => SealedKeyringProtocol {
  return components => new SealedKeyringProtocol(components)
}
