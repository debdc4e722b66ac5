import type { ComponentLogger, Connection, Startable, Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import { InvalidMessageError } from '../wire/errors.ts'
import { answerOnce, askOnce, type ExchangeCodec } from '../wire/one-exchange.ts'
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

const codec: ExchangeCodec<JoinWindowMessage> = { protocol: JOIN_WINDOW_PROTOCOL_V1, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, encode: encodeJoinWindowMessage, decode: decodeJoinWindowMessage }

/** Answers one `open` and closes. */
export async function serveJoinWindow (stream: Stream, peer: string, c: { windows: JoinWindowBook, log: Logger }): Promise<void> {
  await answerOnce(stream, codec, {
    peer,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    log: c.log,
    what: 'join window',
    answer: async (m): Promise<JoinWindowMessage> => {
      if (m.type !== 'open') throw new InvalidMessageError(JOIN_WINDOW_PROTOCOL_V1, `expected open, got ${m.type}`)
      const kept = c.windows.open(peer, m.untilMs)
      return kept === undefined
        ? { type: 'err', code: ERR_NOT_TRUSTED, message: 'this relay does not trust this device' }
        : { type: 'ok', untilMs: kept }
    }
  })
}

/**
 * Client side: tells the relay until when we accept joiners; resolves with the time it keeps.
 * `signal` ends the wait for the answer early (it is bounded by DEFAULT_TIMEOUT_MS anyway).
 */
export async function announceJoinWindow (stream: Stream, untilMs: number, opts: { signal?: AbortSignal } = {}): Promise<number> {
  const timeout = AbortSignal.timeout(DEFAULT_TIMEOUT_MS)
  const m = await askOnce(stream, codec, { type: 'open', untilMs }, opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]))
  if (m.type !== 'ok') throw new InvalidMessageError(JOIN_WINDOW_PROTOCOL_V1, `expected ok, got ${m.type}`)
  return m.untilMs
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
