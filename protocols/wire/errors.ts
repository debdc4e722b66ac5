import { FerryError } from '../../src/errors.ts'

/** The peer sent something that does not fit the wire schema; the stream is aborted. */
export class InvalidMessageError extends FerryError {
  constructor (protocol: string, reason: string) {
    super(`${protocol}: invalid message: ${reason}`, 'ERR_FERRY_INVALID_MESSAGE')
  }
}

/** The peer answered with an explicit error message. */
export class RemoteError extends FerryError {
  constructor (protocol: string, code: string, message: string) {
    super(`${protocol}: peer refused: ${message}`, code)
  }
}

/** The stream ended before the exchange was complete (peer died, connection cut). */
export class TruncatedStreamError extends FerryError {
  constructor (protocol: string, what: string) {
    super(`${protocol}: stream ended before ${what}`, 'ERR_FERRY_TRUNCATED')
  }
}

/**
 * libp2p rejects some promises with an Event that carries the real error (notes, G6);
 * this returns an Error in every case.
 */
export function toError (e: unknown): Error {
  if (e instanceof Error) return e
  const inner = (e as { error?: unknown } | null)?.error
  if (inner instanceof Error) return inner
  return new Error(String((e as { type?: string } | null)?.type ?? e))
}
