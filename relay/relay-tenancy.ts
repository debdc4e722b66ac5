import { peerIdFromString } from '@libp2p/peer-id'
import { openMemberList } from '../src/access/member-list.ts'
import { bodyObject, BadRequestError, requiredString } from '../src/api/body-fields.ts'
import type { MemberLists } from '../protocols/members/index.ts'
import type { EventSink } from '../src/events/node-events.ts'
import type { RelayStore } from './store/relay-store.ts'
import { ERR_NOT_MEMBER, MemberListRefusedError } from './store/member-lists.ts'
import type { QuotaUsage } from './store/quotas.ts'

/**
 * /ferry/members/1 as the relay answers it: a folder's list only to its members; a new list
 * from a trusted device, by the rules of relay/store/member-lists.ts (each list taken is an
 * event); the asker's own storage quota.
 */
export function relayMemberLists (o: { store: RelayStore, isTrusted: (peer: string) => boolean, events: EventSink }): MemberLists {
  return {
    get: (peer, folder) => {
      const s = o.isTrusted(peer) ? o.store.memberList(folder, peer) : undefined
      return s === undefined ? undefined : { bytes: s.bytes, signature: s.signature, signer: s.signer }
    },
    put: async (peer, env) => {
      if (!o.isTrusted(peer)) throw new MemberListRefusedError('not trusted by this relay', ERR_NOT_MEMBER)
      const signed = await openMemberList(env.bytes, env.signature, env.signer)
      await o.store.putMemberList(signed, peer)
      o.events.emit({ type: 'relay.members', detail: { folder: signed.list.folder, version: signed.list.version, members: Object.keys(signed.list.members).length, signer: signed.signer } })
      return signed.list.version
    },
    quota: peer => o.store.quotas.usage(peer)
  }
}

/** `POST /quota` of the relay's control API: `{ device, limitBytes }` (null: back to the default). */
export async function setQuotaRoute (store: RelayStore, body: unknown): Promise<QuotaUsage & { device: string }> {
  const b = bodyObject(body)
  const device = requiredString(b, 'device', 128)
  try { peerIdFromString(device) } catch { throw new BadRequestError(`device must be a device id, not ${JSON.stringify(device).slice(0, 60)}`) }
  const limit = b.limitBytes
  if (limit !== null && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0)) throw new BadRequestError('limitBytes must be a whole number of bytes or null')
  await store.quotas.setLimit(device, limit ?? undefined)
  return { device, ...store.quotas.usage(device) }
}
