import type { Stream } from '@libp2p/interface'
import { FerryError } from '../src/errors.ts'

/**
 * what a stranger (admitted to reach a device with an open join window) may send through its
 * circuit: libp2p's default circuit data limit (128 KiB); a join request is under 16 KiB
 */
export const DEFAULT_STRANGER_CIRCUIT_BYTES = 128 * 1024
/** a stranger's connection to the relay is closed this long after it opened (the join is over by then) */
export const DEFAULT_STRANGER_CONNECTION_MS = 30_000

export class StrangerCircuitLimitError extends FerryError {
  constructor (maxBytes: number) {
    super(`a joiner's circuit carries at most ${maxBytes} bytes`, 'ERR_FERRY_STRANGER_LIMIT')
  }
}

/** Counts what a stranger sends on its hop stream (its side of the circuit); aborts the stream past `maxBytes`. */
export function limitStrangerHop (stream: Stream, maxBytes = DEFAULT_STRANGER_CIRCUIT_BYTES): void {
  let bytes = 0
  stream.addEventListener('message', evt => {
    bytes += evt.data.byteLength
    if (bytes > maxBytes) stream.abort(new StrangerCircuitLimitError(maxBytes))
  })
}
