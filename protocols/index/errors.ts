import type { IndexMessageV2 } from './delta-messages.ts'

/** the `err` code a server answers `sub` with when the subscriber may not read the folder */
export const ERR_NOT_MEMBER = 'ERR_FERRY_NOT_MEMBER'

/** The answer to a non-member (or one removed meanwhile): the same whether the folder exists or not. */
export function notMember (folder: string): IndexMessageV2 {
  return { type: 'err', code: ERR_NOT_MEMBER, message: `not a member of folder ${folder}` }
}

/** the `err` code a server answers a member with when the folder is not served now (paused, stopped, starting) */
export const ERR_FOLDER_UNAVAILABLE = 'ERR_FERRY_FOLDER_UNAVAILABLE'

export function folderUnavailable (folder: string): IndexMessageV2 {
  return { type: 'err', code: ERR_FOLDER_UNAVAILABLE, message: `folder ${folder} is not served now` }
}
