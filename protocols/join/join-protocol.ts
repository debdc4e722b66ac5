import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import { MessageStream } from '../wire/message-stream.ts'
import { InvalidMessageError, RemoteError, TruncatedStreamError, toError } from '../wire/errors.ts'
import { decodeJoinMessage, encodeJoinMessage, type JoinMessage, type JoinRequest, type JoinRole } from './messages.ts'
import { DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TIMEOUT_MS, JOIN_PROTOCOL_V1, JOIN_PROTOCOL_V2, JOIN_PROTOCOLS } from './constants.ts'
import type { FolderKey } from '../../src/keys/folder-keyring.ts'
import { ERR_JOIN_REFUSED } from './errors.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ProtocolService } from '../wire/protocol-service.ts'

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
  /** the folder's keyring, sent to a joiner on /ferry/join/2 once it is a member */
  keysOf?: (folder: string) => Promise<FolderKey[]>
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

export interface JoinServerComponents {
  /**
   * Checks the secret and records the peer as a member; returns its role. Throws an error
   * with a `code` (one-line message) to refuse: used, expired or unknown invitation.
   */
  accept: (peer: string, request: JoinRequest) => Promise<JoinRole>
  /** /ferry/join/2: the folder's keyring for the new member */
  keysOf?: (folder: string) => Promise<FolderKey[]>
  log: Logger
}

function messages (stream: Stream): MessageStream {
  return new MessageStream(stream, stream.protocol ?? JOIN_PROTOCOL_V1, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
}

async function send (ms: MessageStream, m: JoinMessage): Promise<void> {
  await ms.write(encodeJoinMessage(m))
}

/**
 * Answers one join request, then waits (bounded) for the client to hang up, so that the answer
 * is read before the caller changes anything about the connection. Resolves with the role
 * granted, or undefined when refused.
 */
export async function serveJoin (stream: Stream, peer: string, components: JoinServerComponents): Promise<JoinRole | undefined> {
  const ms = messages(stream)
  try {
    let m: JoinMessage
    try {
      m = decodeJoinMessage(await ms.read({ signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) }))
      if (m.type !== 'join') throw new InvalidMessageError(JOIN_PROTOCOL_V1, `expected join, got ${m.type}`)
    } catch (err) {
      // a request that does not fit the schema (an address that does not parse...) is answered
      // with its reason, so the joiner's user sees it; nothing of it is used
      if (!(err instanceof InvalidMessageError)) throw err
      components.log('join from %s refused: %s', peer, err.message)
      await send(ms, { type: 'err', code: err.code, message: err.message.slice(0, 1024) })
      await ms.close()
      return undefined
    }
    let role: JoinRole | undefined
    try {
      role = await components.accept(peer, { folder: m.folder, secret: m.secret, addrs: m.addrs })
      // a /1 joiner would refuse the longer welcome
      const keys = stream.protocol === JOIN_PROTOCOL_V2 && components.keysOf !== undefined ? await components.keysOf(m.folder) : undefined
      await send(ms, { type: 'welcome', folder: m.folder, role, ...(keys === undefined ? {} : { keys }) })
    } catch (err) {
      const e = toError(err) as Error & { code?: string }
      components.log('join from %s refused: %s', peer, e.message)
      await send(ms, { type: 'err', code: (e.code ?? ERR_JOIN_REFUSED).slice(0, 64), message: e.message.slice(0, 1024) || 'refused' })
    }
    await ms.close()
    try {
      await ms.read({ signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) })
    } catch (err) {
      if (!(err instanceof TruncatedStreamError)) throw err
    }
    return role
  } catch (err) {
    components.log('join stream from %s failed: %s', peer, toError(err).message)
    ms.abort(err)
    return undefined
  }
}

/** Client side: proves the secret; resolves with the role granted, RemoteError when refused. */
export async function requestJoin (stream: Stream, request: JoinRequest): Promise<JoinRole> {
  return (await requestJoinWithKeys(stream, request)).role
}

/** requestJoin, and the folder's keyring on /ferry/join/2 (empty on /1) */
export async function requestJoinWithKeys (stream: Stream, request: JoinRequest): Promise<{ role: JoinRole, keys: FolderKey[] }> {
  const ms = messages(stream)
  try {
    await send(ms, { type: 'join', ...request })
    const m = decodeJoinMessage(await ms.read({ signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) }))
    await ms.close()
    if (m.type === 'err') throw new RemoteError(JOIN_PROTOCOL_V1, m.code, m.message)
    if (m.type !== 'welcome' || m.folder !== request.folder) throw new InvalidMessageError(JOIN_PROTOCOL_V1, `unexpected ${m.type}`)
    return { role: m.role, keys: m.keys ?? [] }
  } catch (err) {
    ms.abort(err)
    throw toError(err)
  }
}

/**
 * The join server as a service: answers /ferry/join/2 and /1 while started. It is the one protocol a
 * stranger (admitted while an invitation is pending) may open; its connection was for this join
 * only, so it is closed afterwards unless the peer is now trusted.
 */
export class JoinProtocol extends ProtocolService implements JoinService {
  private readonly components: JoinServiceComponents
  private readonly log: Logger

  constructor (components: JoinServiceComponents, init: JoinServiceInit = {}) {
    // a joiner may reach us only through a relay: the circuit may be limited (the exchange is small)
    super({ registrar: components.registrar, protocols: JOIN_PROTOCOLS, maxInboundStreams: init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
    this.components = components
    this.log = components.logger.forComponent(init.logName ?? 'ferry:join:server')
  }

  readonly [Symbol.toStringTag] = 'ferry:join'

  protected override async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const invitations = this.components.invitations
    try {
      const role = await serveJoin(stream, peer, {
        accept: async (p, request) => await invitations.acceptJoin(p, request),
        ...(this.components.keysOf === undefined ? {} : { keysOf: this.components.keysOf }),
        log: this.log
      })
      // applied once the joiner has its answer
      if (role !== undefined) await invitations.joined(peer, role)
    } finally {
      // a stranger's connection was for this join only (a new member reconnects as trusted)
      if (!this.components.isTrusted(peer)) await connection.close().catch(() => {})
    }
  }
}
