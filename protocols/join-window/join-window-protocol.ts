import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import { MessageStream } from '../wire/message-stream.ts'
import { InvalidMessageError, RemoteError, toError } from '../wire/errors.ts'
import type { ProtocolRegistrar } from '../wire/registrar.ts'
import { ProtocolService } from '../wire/protocol-service.ts'
import { DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TIMEOUT_MS, ERR_NOT_TRUSTED, JOIN_WINDOW_PROTOCOL_V1, JOIN_WINDOW_PROTOCOLS } from './constants.ts'
import { decodeJoinWindowMessage, encodeJoinWindowMessage, type JoinWindowMessage } from './messages.ts'

/** Where a relay keeps its devices' join windows. */
export interface JoinWindowBook {
  /** `peer` accepts joiners until `untilMs` (0: no more); the time kept, or undefined to refuse */
  open: (peer: string, untilMs: number) => number | undefined
}

export interface JoinWindowServiceComponents { registrar: ProtocolRegistrar, logger: ComponentLogger, windows: JoinWindowBook }

function messages (stream: Stream): MessageStream {
  return new MessageStream(stream, JOIN_WINDOW_PROTOCOL_V1, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
}

/** Answers one `open` and closes. */
export async function serveJoinWindow (stream: Stream, peer: string, c: { windows: JoinWindowBook, log: Logger }): Promise<void> {
  const ms = messages(stream)
  try {
    const m = decodeJoinWindowMessage(await ms.read({ signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) }))
    if (m.type !== 'open') throw new InvalidMessageError(JOIN_WINDOW_PROTOCOL_V1, `expected open, got ${m.type}`)
    const kept = c.windows.open(peer, m.untilMs)
    await ms.write(encodeJoinWindowMessage(kept === undefined
      ? { type: 'err', code: ERR_NOT_TRUSTED, message: 'this relay does not trust this device' }
      : { type: 'ok', untilMs: kept }))
    await ms.close()
  } catch (err) {
    c.log('join window stream from %s failed: %s', peer, toError(err).message)
    ms.abort(err)
  }
}

/**
 * Client side: tells the relay until when we accept joiners; resolves with the time it keeps.
 * `signal` ends the wait for the answer early (it is bounded by DEFAULT_TIMEOUT_MS anyway).
 */
export async function announceJoinWindow (stream: Stream, untilMs: number, opts: { signal?: AbortSignal } = {}): Promise<number> {
  const ms = messages(stream)
  try {
    await ms.write(encodeJoinWindowMessage({ type: 'open', untilMs }))
    const timeout = AbortSignal.timeout(DEFAULT_TIMEOUT_MS)
    const m: JoinWindowMessage = decodeJoinWindowMessage(await ms.read({ signal: opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]) }))
    await ms.close()
    if (m.type === 'err') throw new RemoteError(JOIN_WINDOW_PROTOCOL_V1, m.code, m.message)
    if (m.type !== 'ok') throw new InvalidMessageError(JOIN_WINDOW_PROTOCOL_V1, `expected ok, got ${m.type}`)
    return m.untilMs
  } catch (err) {
    ms.abort(err)
    throw toError(err)
  }
}

/** The relay's side as a service. */
export class JoinWindowProtocol extends ProtocolService implements Startable {
  private readonly components: JoinWindowServiceComponents
  private readonly log: Logger

  constructor (components: JoinWindowServiceComponents) {
    super({ registrar: components.registrar, protocols: JOIN_WINDOW_PROTOCOLS, maxInboundStreams: DEFAULT_MAX_INBOUND_STREAMS })
    this.components = components
    this.log = components.logger.forComponent('ferry:relay:join-window')
  }

  readonly [Symbol.toStringTag] = 'ferry:join-window'

  protected override async serve (stream: Stream, connection: Connection): Promise<void> {
    await serveJoinWindow(stream, connection.remotePeer.toString(), { windows: this.components.windows, log: this.log })
  }
}
