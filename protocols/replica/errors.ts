import type { ReplicaMessageV2 } from './messages.ts'

/** the `err` code a relay answers `hello` with when the device may not replicate the folder here */
export const ERR_NOT_MEMBER = 'ERR_FERRY_NOT_MEMBER'

/** The answer to a device that may not replicate the folder: the same whether it exists or not. */
export function notMember (folder: string): ReplicaMessageV2 {
  return { type: 'err', code: ERR_NOT_MEMBER, message: `not a member of folder ${folder}` }
}

/** the `err` code a relay answers a replica/1 or /2 `hello` with for a folder it holds sealed */
export const ERR_SEALED_FOLDER = 'ERR_FERRY_SEALED_FOLDER'

/** Thrown by `openFolder` to refuse a session with a coded answer (the device is not cut off). */
export class ReplicaRefusal extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'ReplicaRefusal'
    this.code = code
  }
}
