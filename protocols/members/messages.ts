import { fieldReaders } from '../wire/fields.ts'
import { DEFAULT_MAX_MESSAGE_BYTES, MEMBERS_PROTOCOL_V1 } from './constants.ts'

const { bad, shortString } = fieldReaders(MEMBERS_PROTOCOL_V1)

/** a signed member list as it travels: the exact bytes signed, the signature, the signer (device id or "recovery") */
export interface MemberListEnvelope { bytes: Uint8Array, signature: Uint8Array, signer: string }

/**
 * /ferry/members/1 (docs/PROTOCOL.md): questions and answers in turn on one stream, until the
 * device half-closes.
 *   device -> relay  ['get', folder]                  the list the relay holds
 *   relay -> device  ['list', bytes, signature, signer]
 *   device -> relay  ['put', bytes, signature, signer] a new list (first or update)
 *   relay -> device  ['ok', version]                   taken, durably
 *   device -> relay  ['quota']                         the asker's storage on the relay
 *   relay -> device  ['quota', usedBytes, limitBytes | null]
 *   relay -> device  ['err', code, message]            this question refused; the stream goes on
 */
export type MembersMessage =
  | { type: 'get', folder: string }
  | { type: 'list', list: MemberListEnvelope }
  | { type: 'put', list: MemberListEnvelope }
  | { type: 'ok', version: number }
  | { type: 'quota?' }
  | { type: 'quota', usedBytes: number, limitBytes?: number }
  | { type: 'err', code: string, message: string }

const envelope = (l: MemberListEnvelope): unknown[] => [l.bytes, l.signature, l.signer]

function envelopeOf (rest: unknown[], tag: string): MemberListEnvelope {
  if (rest.length !== 3 || !(rest[0] instanceof Uint8Array) || !(rest[1] instanceof Uint8Array)) return bad(`${tag}: expected [bytes, signature, signer]`)
  if (rest[0].byteLength > DEFAULT_MAX_MESSAGE_BYTES / 2 || rest[1].byteLength > 1024) bad(`${tag}: too large`)
  return { bytes: rest[0], signature: rest[1], signer: shortString(rest[2], 'signer', 128) }
}

const count = (v: unknown, what: string): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${what} must be a non-negative integer`)
  return v as number
}

export function encodeMembersMessage (m: MembersMessage): unknown[] {
  switch (m.type) {
    case 'get': return ['get', m.folder]
    case 'list': return ['list', ...envelope(m.list)]
    case 'put': return ['put', ...envelope(m.list)]
    case 'ok': return ['ok', m.version]
    case 'quota?': return ['quota']
    case 'quota': return ['quota', m.usedBytes, m.limitBytes ?? null]
    case 'err': return ['err', m.code, m.message]
  }
}

/** `fromRelay`: the `quota` tag is a question from a device, an answer from the relay */
export function decodeMembersMessage (v: [string, ...unknown[]], fromRelay: boolean): MembersMessage {
  const [tag, ...rest] = v
  switch (tag) {
    case 'get':
      if (rest.length !== 1) bad('get: expected [folder]')
      return { type: 'get', folder: shortString(rest[0], 'folder', 256) }
    case 'list': return { type: 'list', list: envelopeOf(rest, 'list') }
    case 'put': return { type: 'put', list: envelopeOf(rest, 'put') }
    case 'ok':
      if (rest.length !== 1) bad('ok: expected [version]')
      return { type: 'ok', version: count(rest[0], 'version') }
    case 'quota': {
      if (!fromRelay) {
        if (rest.length !== 0) bad('quota: expected []')
        return { type: 'quota?' }
      }
      if (rest.length !== 2) bad('quota: expected [usedBytes, limitBytes]')
      const usedBytes = count(rest[0], 'usedBytes')
      return rest[1] === null ? { type: 'quota', usedBytes } : { type: 'quota', usedBytes, limitBytes: count(rest[1], 'limitBytes') }
    }
    case 'err':
      if (rest.length !== 2) bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}
