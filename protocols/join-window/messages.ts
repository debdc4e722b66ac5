import { fieldReaders } from '../wire/fields.ts'
import { JOIN_WINDOW_PROTOCOL_V1 } from './constants.ts'

const { bad, shortString } = fieldReaders(JOIN_WINDOW_PROTOCOL_V1)

/**
 * /ferry/join-window/1 (docs/PROTOCOL.md §8.4): one message each way per stream, device -> relay.
 *   client -> server  ['open', untilMs]      accept joiners through the relay until then (0: no more)
 *   server -> client  ['ok', untilMs]  |  ['err', code, message]
 */
export type JoinWindowMessage =
  | { type: 'open', untilMs: number }
  | { type: 'ok', untilMs: number }
  | { type: 'err', code: string, message: string }

export function encodeJoinWindowMessage (m: JoinWindowMessage): unknown[] {
  switch (m.type) {
    case 'open': return ['open', m.untilMs]
    case 'ok': return ['ok', m.untilMs]
    case 'err': return ['err', m.code, m.message]
  }
}

function time (v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : bad('untilMs must be a non-negative integer')
}

export function decodeJoinWindowMessage (v: [string, ...unknown[]]): JoinWindowMessage {
  if (!Array.isArray(v)) return bad('not an array')
  const [tag, ...rest] = v as unknown[]
  switch (tag) {
    case 'open':
    case 'ok':
      if (rest.length !== 1) return bad(`${tag}: expected [untilMs]`)
      return { type: tag, untilMs: time(rest[0]) }
    case 'err':
      if (rest.length !== 2) return bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}
