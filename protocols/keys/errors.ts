import type { KeysMessage } from './messages.ts'

/**
 * The answer to an asker that is not a member of the folder here (unknown folder, removed, or a
 * replica: relays never get keys). The same whichever it is.
 */
export const ERR_NOT_MEMBER = 'ERR_FERRY_NOT_MEMBER'

export function notMember (folder: string): KeysMessage {
  return { type: 'err', code: ERR_NOT_MEMBER, message: `not a member of folder ${folder}` }
}
