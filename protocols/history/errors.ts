import type { HistoryMessage } from './messages.ts'

/** the `err` code a server answers a question with when the asker may not read the folder */
export const ERR_NOT_MEMBER = 'ERR_FERRY_NOT_MEMBER'

/** The answer to a non-member: the same whether the folder exists or not. */
export function notMember (folder: string): HistoryMessage {
  return { type: 'err', code: ERR_NOT_MEMBER, message: `not a member of folder ${folder}` }
}
