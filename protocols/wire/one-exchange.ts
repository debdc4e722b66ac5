import type { Logger } from '@libp2p/logger'
import type { Stream } from '@libp2p/interface'
import { MessageStream } from './message-stream.ts'
import { RemoteError, toError } from './errors.ts'

/** an error answer, as every protocol version spells it */
export interface ErrMessage { type: 'err', code: string, message: string }

/** One protocol version's messages for a one-question exchange. */
export interface ExchangeCodec<M extends { type: string }> {
  protocol: string
  maxMessageBytes: number
  encode: (m: M) => unknown[]
  /** throws InvalidMessageError for anything outside the schema */
  decode: (v: [string, ...unknown[]]) => M
}

/**
 * Client side of a protocol that asks one question per stream: sends `question`, reads one
 * answer (within `signal`), closes. An `err` answer becomes a RemoteError; any failure aborts the
 * stream and is thrown.
 */
export async function askOnce<M extends { type: string }> (stream: Stream, codec: ExchangeCodec<M>, question: M, signal: AbortSignal): Promise<Exclude<M, ErrMessage>> {
  const ms = new MessageStream(stream, codec.protocol, { maxMessageBytes: codec.maxMessageBytes })
  try {
    await ms.write(codec.encode(question))
    const m = codec.decode(await ms.read({ signal }))
    await ms.close()
    if (m.type === 'err') {
      const e = m as unknown as ErrMessage
      throw new RemoteError(codec.protocol, e.code, e.message)
    }
    return m as Exclude<M, ErrMessage>
  } catch (err) {
    ms.abort(err)
    throw toError(err)
  }
}

/**
 * Server side: reads one question from `peer` (within `timeoutMs`), writes what `answer` makes of
 * it, closes. A failure (a malformed or unexpected question: `answer` throws InvalidMessageError)
 * is logged and aborts the stream; it never throws.
 */
export async function answerOnce<M extends { type: string }> (stream: Stream, codec: ExchangeCodec<M>, o: { peer: string, timeoutMs: number, log: Logger, what: string, answer: (question: M) => Promise<M> }): Promise<void> {
  const ms = new MessageStream(stream, codec.protocol, { maxMessageBytes: codec.maxMessageBytes })
  try {
    const question = codec.decode(await ms.read({ signal: AbortSignal.timeout(o.timeoutMs) }))
    await ms.write(codec.encode(await o.answer(question)))
    await ms.close()
  } catch (err) {
    o.log('%s stream from %s failed: %s', o.what, o.peer, toError(err).message)
    ms.abort(err)
  }
}
