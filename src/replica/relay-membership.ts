import type { Stream } from '@libp2p/interface'
import { MembersClient, ERR_NOT_MEMBER } from '../../protocols/members/index.ts'
import { RemoteError } from '../../protocols/wire/errors.ts'
import { decodeMemberList, type MemberList, type MemberRole, type SignedMemberList } from '../access/member-list.ts'
import type { FolderConfig } from '../config/config.ts'

/** a list the relay took meanwhile from another member: read it and try once more */
const MAX_PUT_ATTEMPTS = 2
const STALE = 'ERR_FERRY_MEMBER_LIST_STALE'

/** The folder's members as a relay sees them: writers and readers; replicas (relays) are not members there. */
export function relayMembersOf (folder: FolderConfig, self: string): Record<string, MemberRole> {
  const out: Record<string, MemberRole> = {}
  const roleOf = (role: string): MemberRole | undefined => role === 'owner' || role === 'read-write' ? 'write' : role === 'read-only' ? 'read' : undefined
  for (const [device, role] of Object.entries(folder.members)) {
    const r = roleOf(role)
    if (r !== undefined && device !== self) out[device] = r
  }
  out[self] = roleOf(folder.role ?? 'owner') ?? 'read'
  return out
}

export interface RelayMembershipComponents {
  folder: string
  /** opens a /ferry/members/1 stream to the relay */
  openStream: (signal?: AbortSignal) => Promise<Stream>
  /** the members this device knows now (relayMembersOf its config) */
  members: () => Record<string, MemberRole>
  /** signs a list as this device */
  sign: (list: MemberList) => Promise<SignedMemberList>
  /**
   * the raw public key of the folder's recovery identity (derived from its current key): put in
   * the list so that a device holding only the recovery phrase may add itself (`ferry recover`)
   */
  recoveryKey?: () => Promise<Uint8Array | undefined>
}

export interface RelayQuota { usedBytes: number, limitBytes?: number }

const sameMembers = (a: Record<string, MemberRole>, b: Record<string, MemberRole>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([d, r]) => b[d] === r)
const sameKey = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === undefined || b === undefined ? a === b : Buffer.from(a).equals(Buffer.from(b))

/**
 * One folder's member list on one relay, from this device's side: when the members it knows
 * differ from the list the relay holds (or the relay holds none it is in), it signs the next
 * version and sends it; the relay takes it only if this device may (relay/store/member-lists.ts).
 * The list carries the recovery key of the folder's current key, so that after a rekey the old
 * phrase no longer lets anyone in. Also reads this device's storage quota there.
 */
export class RelayMembership {
  private readonly c: RelayMembershipComponents
  /** the members the relay was last seen to hold as this device knows them (undefined: check) */
  private agreed?: Record<string, MemberRole>
  /** the recovery key the relay was last seen to hold */
  private agreedKey?: Uint8Array
  quota?: RelayQuota

  constructor (components: RelayMembershipComponents) {
    this.c = components
  }

  /** whether the members this device knows changed since the relay last agreed */
  changed (): boolean {
    return this.agreed === undefined || !sameMembers(this.agreed, this.c.members())
  }

  /** the relay may have lost or changed the list: check it at the next sync */
  recheck (): void {
    this.agreed = undefined
  }

  /** Sends the list if it changed (refusals are thrown as RemoteError), then reads the quota. */
  async sync (): Promise<void> {
    const client = new MembersClient(await this.c.openStream())
    try {
      const key = await this.c.recoveryKey?.()
      if (this.changed() || !sameKey(key, this.agreedKey)) await this.sendList(client, key)
      this.quota = await client.quota()
      await client.close()
    } catch (err) {
      client.abort(err as Error)
      throw err
    }
  }

  private async sendList (client: MembersClient, recoveryKey: Uint8Array | undefined): Promise<void> {
    const want = this.c.members()
    for (let attempt = 1; ; attempt++) {
      let held: MemberList | undefined
      try {
        held = decodeMemberList((await client.get(this.c.folder)).bytes)
      } catch (err) {
        if (!(err instanceof RemoteError && err.code === ERR_NOT_MEMBER)) throw err
      }
      if (held !== undefined && sameMembers(held.members, want) && (recoveryKey === undefined || sameKey(held.recoveryKey, recoveryKey))) break
      try {
        await client.put(await this.c.sign({ folder: this.c.folder, version: (held?.version ?? 0) + 1, members: want, ...(recoveryKey === undefined ? {} : { recoveryKey }) }))
        break
      } catch (err) {
        if (!(err instanceof RemoteError && err.code === STALE) || attempt >= MAX_PUT_ATTEMPTS) throw err
      }
    }
    this.agreed = want
    this.agreedKey = recoveryKey
  }
}
