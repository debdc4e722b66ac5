import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import { InvalidMessageError } from '../wire/errors.ts'
import { answerOnce, askOnce, type ExchangeCodec } from '../wire/one-exchange.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ProtocolService } from '../wire/protocol-service.ts'
import { DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TIMEOUT_MS, SEALED_KEYRING_PROTOCOL_V1, SEALED_KEYRING_PROTOCOLS } from './constants.ts'
import { decodeSealedKeyringMessage, encodeSealedKeyringMessage, type SealedKeyringMessage } from './messages.ts'

/** the `err` code for an asker that may not use the folder on the relay */
export const ERR_NOT_MEMBER = 'ERR_FERRY_NOT_MEMBER'

/** Where a relay keeps sealed keyrings; false/undefined-returning calls refuse the asker. */
export interface SealedKeyringStore {
  /** stores `blob` for `folder`; false when `peer` may not */
  put: (peer: string, folder: string, blob: Uint8Array) => Promise<boolean>
  /** the stored blob (null: none yet), or undefined when `peer` may not ask */
  get: (peer: string, folder: string) => Promise<Uint8Array | null | undefined>
}

export interface SealedKeyringServiceComponents { registrar: ProtocolRegistrar, logger: ComponentLogger, store: SealedKeyringStore }

const codec: ExchangeCodec<SealedKeyringMessage> = { protocol: SEALED_KEYRING_PROTOCOL_V1, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, encode: encodeSealedKeyringMessage, decode: decodeSealedKeyringMessage }

const notMember = (folder: string): SealedKeyringMessage => ({ type: 'err', code: ERR_NOT_MEMBER, message: `not a member of folder ${folder}` })

/** Answers one `put` or `get` and closes. */
export async function serveSealedKeyring (stream: Stream, peer: string, c: { store: SealedKeyringStore, log: Logger }): Promise<void> {
  await answerOnce(stream, codec, {
    peer,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    log: c.log,
    what: 'sealed keyring',
    answer: async (m): Promise<SealedKeyringMessage> => {
      if (m.type === 'put') return await c.store.put(peer, m.folder, m.blob) ? { type: 'ok' } : notMember(m.folder)
      if (m.type === 'get') return (blob => blob === undefined ? notMember(m.folder) : { type: 'blob' as const, blob })(await c.store.get(peer, m.folder))
      throw new InvalidMessageError(SEALED_KEYRING_PROTOCOL_V1, `expected put or get, got ${m.type}`)
    }
  })
}

async function ask (stream: Stream, question: SealedKeyringMessage): Promise<SealedKeyringMessage> {
  return await askOnce(stream, codec, question, AbortSignal.timeout(DEFAULT_TIMEOUT_MS))
}

/** stores the folder's sealed keyring on the relay */
export async function putSealedKeyring (stream: Stream, folder: string, blob: Uint8Array): Promise<void> {
  const m = await ask(stream, { type: 'put', folder, blob })
  if (m.type !== 'ok') throw new InvalidMessageError(SEALED_KEYRING_PROTOCOL_V1, `expected ok, got ${m.type}`)
}

/** the folder's sealed keyring on the relay, or null when it keeps none */
export async function getSealedKeyring (stream: Stream, folder: string): Promise<Uint8Array | null> {
  const m = await ask(stream, { type: 'get', folder })
  if (m.type !== 'blob') throw new InvalidMessageError(SEALED_KEYRING_PROTOCOL_V1, `expected blob, got ${m.type}`)
  return m.blob
}

/** The relay's side as a service. */
export class SealedKeyringProtocol extends ProtocolService implements Startable {
  private readonly components: SealedKeyringServiceComponents
  private readonly log: Logger

  constructor (components: SealedKeyringServiceComponents) {
    super({ registrar: components.registrar, protocols: SEALED_KEYRING_PROTOCOLS, maxInboundStreams: DEFAULT_MAX_INBOUND_STREAMS })
    this.components = components
    this.log = components.logger.forComponent('ferry:relay:sealed-keyring')
  }

  readonly [Symbol.toStringTag] = 'ferry:sealed-keyring'

  protected override async serve (stream: Stream, connection: Connection): Promise<void> {
    await serveSealedKeyring(stream, connection.remotePeer.toString(), { store: this.components.store, log: this.log })
  }
}
