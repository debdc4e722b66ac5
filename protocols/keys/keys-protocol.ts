import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { FolderKey } from '../../src/keys/folder-keyring.ts'
import { InvalidMessageError } from '../wire/errors.ts'
import { answerOnce, askOnce, type ExchangeCodec } from '../wire/one-exchange.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ProtocolService } from '../wire/protocol-service.ts'
import { DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TIMEOUT_MS, KEYS_PROTOCOL_V1, KEYS_PROTOCOLS } from './constants.ts'
import { decodeKeysMessage, encodeKeysMessage, type KeysMessage } from './messages.ts'
import { notMember } from './errors.ts'

/** Where the keys server keeps keyrings. */
export interface KeyExchangeHandler {
  /**
   * Merges `keys` (the asker's keyring of `folder`) into ours and returns ours, or undefined when
   * `peer` is not a member that may hold the folder's keys (not a member, removed, a replica).
   */
  exchange: (peer: string, folder: string, keys: FolderKey[]) => Promise<FolderKey[] | undefined>
}

export interface KeysServiceComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  keys: KeyExchangeHandler
}

export interface KeysServiceInit {
  maxInboundStreams?: number
  logName?: string
}

export interface KeysService extends Startable {
  readonly protocols: readonly string[]
}

const codec: ExchangeCodec<KeysMessage> = { protocol: KEYS_PROTOCOL_V1, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, encode: encodeKeysMessage, decode: decodeKeysMessage }

/** Answers one exchange and closes. */
export async function serveKeys (stream: Stream, peer: string, components: { keys: KeyExchangeHandler, log: Logger }): Promise<void> {
  await answerOnce(stream, codec, {
    peer,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    log: components.log,
    what: 'keys',
    answer: async (m): Promise<KeysMessage> => {
      if (m.type !== 'keys') throw new InvalidMessageError(KEYS_PROTOCOL_V1, `expected keys, got ${m.type}`)
      const ours = await components.keys.exchange(peer, m.folder, m.keys)
      return ours === undefined ? notMember(m.folder) : { type: 'keys', folder: m.folder, keys: ours }
    }
  })
}

/**
 * Client side: sends our keyring of `folder`, resolves with the peer's (each key checked
 * against its id). RemoteError (code ERR_FERRY_NOT_MEMBER) when the peer refuses.
 */
export async function exchangeKeys (stream: Stream, folder: string, keys: readonly FolderKey[], signal: AbortSignal = AbortSignal.timeout(DEFAULT_TIMEOUT_MS)): Promise<FolderKey[]> {
  const m = await askOnce(stream, codec, { type: 'keys', folder, keys: [...keys] }, signal)
  if (m.folder !== folder) throw new InvalidMessageError(KEYS_PROTOCOL_V1, `keys of ${m.folder} in an answer for ${folder}`)
  return m.keys
}

/** The keys server (/ferry/keys/1.0.0) as a service: one exchange per stream, while started. */
export class KeysProtocol extends ProtocolService implements KeysService {
  private readonly components: KeysServiceComponents
  private readonly log: Logger

  constructor (components: KeysServiceComponents, init: KeysServiceInit = {}) {
    super({ registrar: components.registrar, protocols: KEYS_PROTOCOLS, maxInboundStreams: init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS })
    this.components = components
    this.log = components.logger.forComponent(init.logName ?? 'ferry:keys:server')
  }

  readonly [Symbol.toStringTag] = 'ferry:keys'

  protected override async serve (stream: Stream, connection: Connection): Promise<void> {
    await serveKeys(stream, connection.remotePeer.toString(), { keys: this.components.keys, log: this.log })
  }
}
