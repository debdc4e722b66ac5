import type { MembersMessage } from './messages.ts'

/** the `err` code for a folder the asker is not a member of: the same whether it exists or not */
export const ERR_NOT_MEMBER = 'ERR_FERRY_NOT_MEMBER'

export function notMember (folder: string): MembersMessage {
  return { type: 'err', code: ERR_NOT_MEMBER, message: `not a member of folder ${folder}` }
}
