import { RECOVERY_SIGNER, signedBy, type SignedMemberList } from '../../src/access/member-list.ts'
import { FerryError } from '../../src/errors.ts'

/** the code of every refusal a device may learn of a folder it is not a member of (or that does not exist) */
export const ERR_NOT_MEMBER = 'ERR_FERRY_NOT_MEMBER'
export const ERR_STALE_MEMBER_LIST = 'ERR_FERRY_MEMBER_LIST_STALE'
export const ERR_FORGED_MEMBER_LIST = 'ERR_FERRY_FORGED_MEMBER_LIST'

/** A member list the relay does not take: `code` goes back to the device. */
export class MemberListRefusedError extends FerryError {}

/** What the relay holds of one folder's membership. */
export interface HeldMembers {
  signed: SignedMemberList
  /**
   * the recovery key in force: the held list's, or the newest earlier list's (a writer's update
   * without one keeps it: devices that do not know the key cannot drop it)
   */
  recoveryKey?: Uint8Array
}

/**
 * Whether the relay takes `incoming` over `held` (undefined: it holds no list for the folder);
 * throws MemberListRefusedError otherwise. `sender` is the device that sent it.
 * - first list: signed by a device that is a writer in it;
 * - update: a higher version, signed by a writer of the held list, or with the held recovery
 *   key by a sender that the new list names (a device recovering the folder adds itself).
 */
export async function judgeMemberList (held: HeldMembers | undefined, incoming: SignedMemberList, sender: string): Promise<void> {
  const { list, signer } = incoming
  if (held === undefined) {
    if (signer === RECOVERY_SIGNER || list.members[signer] !== 'write') {
      throw new MemberListRefusedError(`a first member list must be signed by a writer it names (folder ${list.folder})`, ERR_NOT_MEMBER)
    }
    return
  }
  if (signer === RECOVERY_SIGNER) {
    const key = held.recoveryKey
    if (key === undefined || !(await signedBy(incoming.bytes, incoming.signature, key))) {
      throw new MemberListRefusedError(`member list of folder ${list.folder}: bad recovery signature`, ERR_FORGED_MEMBER_LIST)
    }
    if (list.members[sender] === undefined) throw new MemberListRefusedError(`a recovery list must name the device that sends it (folder ${list.folder})`, ERR_NOT_MEMBER)
  } else if (held.signed.list.members[signer] !== 'write') {
    throw new MemberListRefusedError(`${signer} may not change the members of folder ${list.folder}`, ERR_NOT_MEMBER)
  }
  if (list.version <= held.signed.list.version) {
    throw new MemberListRefusedError(`member list version ${list.version} of folder ${list.folder} is not newer than ${held.signed.list.version}`, ERR_STALE_MEMBER_LIST)
  }
}

/** The membership after taking `incoming` (judged already). */
export function afterUpdate (held: HeldMembers | undefined, incoming: SignedMemberList): HeldMembers {
  const recoveryKey = incoming.list.recoveryKey ?? held?.recoveryKey
  return recoveryKey === undefined ? { signed: incoming } : { signed: incoming, recoveryKey }
}
