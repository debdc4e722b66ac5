import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import { MessageStream } from '../wire/message-stream.ts'
import { InvalidMessageError, RemoteError, TruncatedStreamError, toError } from '../wire/errors.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ProtocolService } from '../wire/protocol-service.ts'
import { FerryError } from '../../src/errors.ts'
import { DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TIMEOUT_MS, MEMBERS_PROTOCOL_V1, MEMBERS_PROTOCOLS } from './constants.ts'
import { decodeMembersMessage, encodeMembersMessage, type MemberListEnvelope, type MembersMessage } from './messages.ts'
import { notMember } from './errors.ts'

/** What the relay answers from; every answer is per asker. */
export interface MemberLists {
  /** the list held for `folder` if `peer` is in it, else undefined (also for a folder not held) */
  get: (peer: string, folder: string) => MemberListEnvelope | undefined
  /** takes a list sent by `peer` and resolves with its version; throws a FerryError to refuse it */
  put: (peer: string, list: MemberListEnvelope) => Promise<number>
  /** `peer`'s storage on the relay (limitBytes absent: unlimited) */
  quota: (peer: string) => { usedBytes: number, limitBytes?: number }
}

export interface MembersServiceComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  lists: MemberLists
  /** cuts off a peer that sent malformed messages */
  hangUp: (peer: string, reason: Error) => void
}

export interface MembersServiceInit {
  maxInboundStreams?: number
  /** the log component name; default 'ferry:members:server' */
  logName?: string
}

export interface MembersService extends Startable {
  readonly protocols: readonly string[]
}

const messages = (stream: Stream): MessageStream => new MessageStream(stream, MEMBERS_PROTOCOL_V1, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })

/** Answers a device's questions in turn until it half-closes. */
export async function serveMembers (stream: Stream, peer: string, components: Omit<MembersServiceComponents, 'registrar' | 'logger'> & { log: Logger }): Promise<void> {
  const ms = messages(stream)
  const send = async (m: MembersMessage): Promise<void> => { await ms.write(encodeMembersMessage(m)) }
  try {
    while (true) {
      let m: MembersMessage
      try {
        m = decodeMembersMessage(await ms.read({ signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) }), false)
      } catch (err) {
        if (err instanceof TruncatedStreamError && stream.status !== 'reset' && stream.status !== 'aborted') break // clean end
        throw err
      }
      switch (m.type) {
        case 'get': {
          const list = components.lists.get(peer, m.folder)
          await send(list === undefined ? notMember(m.folder) : { type: 'list', list })
          break
        }
        case 'put':
          try {
            await send({ type: 'ok', version: await components.lists.put(peer, m.list) })
          } catch (err) {
            if (!(err instanceof FerryError)) throw err
            await send({ type: 'err', code: err.code, message: err.message })
          }
          break
        case 'quota?':
          await send({ type: 'quota', ...components.lists.quota(peer) })
          break
        default:
          throw new InvalidMessageError(MEMBERS_PROTOCOL_V1, `unexpected ${m.type}`)
      }
    }
    await ms.close()
  } catch (e) {
    const err = toError(e)
    components.log('members stream from %s ended: %s', peer, err.message)
    ms.abort(err)
    if (err instanceof InvalidMessageError) components.hangUp(peer, err)
  }
}

/** Device side: questions in turn on one stream; `close` when done. A refusal throws RemoteError. */
export class MembersClient {
  private readonly ms: MessageStream

  constructor (stream: Stream) {
    this.ms = messages(stream)
  }

  private async ask (m: MembersMessage): Promise<MembersMessage> {
    try {
      await this.ms.write(encodeMembersMessage(m))
      const answer = decodeMembersMessage(await this.ms.read({ signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) }), true)
      if (answer.type === 'err') throw new RemoteError(MEMBERS_PROTOCOL_V1, answer.code, answer.message)
      return answer
    } catch (err) {
      if (!(err instanceof RemoteError)) this.ms.abort(err)
      throw toError(err)
    }
  }

  /** the list the relay holds for `folder` (RemoteError ERR_FERRY_NOT_MEMBER: none we are in) */
  async get (folder: string): Promise<MemberListEnvelope> {
    const m = await this.ask({ type: 'get', folder })
    if (m.type !== 'list') throw this.unexpected(m)
    return m.list
  }

  async put (list: MemberListEnvelope): Promise<number> {
    const m = await this.ask({ type: 'put', list })
    if (m.type !== 'ok') throw this.unexpected(m)
    return m.version
  }

  async quota (): Promise<{ usedBytes: number, limitBytes?: number }> {
    const m = await this.ask({ type: 'quota?' })
    if (m.type !== 'quota') throw this.unexpected(m)
    return m.limitBytes === undefined ? { usedBytes: m.usedBytes } : { usedBytes: m.usedBytes, limitBytes: m.limitBytes }
  }

  private unexpected (m: MembersMessage): Error {
    const err = new InvalidMessageError(MEMBERS_PROTOCOL_V1, `unexpected ${m.type}`)
    this.ms.abort(err)
    return err
  }

  async close (): Promise<void> {
    await this.ms.close()
  }

  abort (err: Error): void {
    this.ms.abort(err)
  }
}

/** The relay's member-list server (/ferry/members/1) as a service. */
export class MembersProtocol extends ProtocolService implements MembersService {
  private readonly components: MembersServiceComponents
  private readonly log: Logger

  constructor (components: MembersServiceComponents, init: MembersServiceInit = {}) {
    super({ registrar: components.registrar, protocols: MEMBERS_PROTOCOLS, maxInboundStreams: init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS })
    this.components = components
    this.log = components.logger.forComponent(init.logName ?? 'ferry:members:server')
  }

  readonly [Symbol.toStringTag] = 'ferry:members'

  protected override async serve (stream: Stream, connection: Connection): Promise<void> {
    await serveMembers(stream, connection.remotePeer.toString(), { lists: this.components.lists, hangUp: this.components.hangUp, log: this.log })
  }
}
