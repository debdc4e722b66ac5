import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { ProtocolRegistrar } from '../protocols/wire/registrar.ts'
import { indexService, INDEX_PROTOCOL_V3 } from '../protocols/index/index.ts'
import { blocksService } from '../protocols/blocks/index.ts'
import { historyService } from '../protocols/history/index.ts'
import { replicaService } from '../protocols/replica/index.ts'
import { membersService, type MemberLists } from '../protocols/members/index.ts'
import { sealedKeyringService } from '../protocols/sealed-keyring/index.ts'
import type { RelayStore } from './store/relay-store.ts'
import { QuotaExceededError } from './store/quotas.ts'
import type { ReplicaFolder } from '../protocols/replica/index.ts'

export interface RelayProtocolOptions {
  /** the node (its `handle`/`unhandle`) */
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  /** devices in the relay's config: every protocol refuses everyone else */
  isTrusted: (peer: string) => boolean
  store: RelayStore
  /** a block by cid (any folder's: blocks are shared), counted as served */
  readBlock: (cid: CID) => Promise<Uint8Array | undefined>
  /** cuts off a device that sent malformed messages, forged records or corrupt blocks */
  hangUp: (peer: string, reason: Error) => void
  /** bytes of an upload session's record frames (`recs`, `want`, `segs`, `ack`), both ways */
  recordFrameBytes: (bytes: number) => void
  /** /ferry/members/1 (the caller checks trust in it) */
  memberLists: MemberLists
  /** a block `peer` uploaded into `folder` was refused: its storage quota is full */
  onQuota: (peer: string, folder: string, err: QuotaExceededError) => void
}

/**
 * The protocols a relay serves, as services to start once the node exists. Every access check
 * is per request, against the live config (trust) and the folder's signed member list: a
 * device that is not in it gets exactly the answer given for a folder the relay does not hold.
 */
export function relayProtocolServices (o: RelayProtocolOptions): Startable[] {
  const base = { registrar: o.registrar, logger: o.logger }
  return [
    // /ferry/index/2 (record deltas) and /1, as a device serves them, to the folder's members
    indexService({ logName: 'ferry:relay:index' })({
      ...base,
      // a sealed folder's records (envelopes) only on index/3: a ferry from before sealing would
      // take them for files
      folders: {
        get: (folder, peer, protocol) => {
          if (!o.isTrusted(peer) || !o.store.isMember(folder, peer)) return undefined
          const f = o.store.folder(folder)
          return f?.sealed === true && protocol !== INDEX_PROTOCOL_V3 ? undefined : f?.log
        }
      }
    }),
    // /ferry/blocks/2 (compressed on request) and /1 (raw), like a device
    blocksService({ logName: 'ferry:relay:blocks' })({
      ...base,
      blocks: {
        mayRead: (peer, folder) => o.isTrusted(peer) && o.store.isMember(folder, peer),
        // only a block the folder holds: a member of one folder cannot read another's by its cid
        readBlock: async (_peer, folder, cid) => await o.store.refs.has(folder, cid) ? await o.readBlock(cid) : undefined
      }
    }),
    // a member's question "every version of this path you keep" (ferry revisions / restore)
    historyService({ logName: 'ferry:relay:history' })({
      ...base,
      history: {
        recordsOf: async (peer, folder, path) => {
          const f = o.store.folder(folder)
          if (f === undefined || !o.isTrusted(peer) || !o.store.isMember(folder, peer)) return undefined
          return [...f.log.signedOf(path), ...(await f.log.history(path)).map(h => h.signed)]
        }
      }
    }),
    // a member's folder keyring, sealed under the folder key: kept opaque, for recovery
    sealedKeyringService()({
      ...base,
      store: {
        // writers of the folder's member list store it; its members (a recovering device is one
        // once its list signed with the recovery key is taken) read it
        put: async (peer, folder, blob) => {
          if (!o.isTrusted(peer) || !o.store.isWriter(folder, peer)) return false
          await o.store.putSealedKeyring(folder, blob)
          return true
        },
        get: async (peer, folder) => o.isTrusted(peer) && o.store.isMember(folder, peer) ? await o.store.sealedKeyring(folder) : undefined
      }
    }),
    // /ferry/replica/2 (record deltas) and /1
    replicaService({ logName: 'ferry:relay:replica' })({
      ...base,
      replicas: {
        // writers only; the folder exists on the relay once its first member list is taken
        open: async (folder, peer, options) => {
          if (!o.isTrusted(peer)) return undefined
          return reportQuota(await o.store.replicaFolder(folder, peer, options), err => { o.onQuota(peer, folder, err) })
        },
        hangUp: o.hangUp
      },
      onFrame: (type, bytes) => {
        if (type === 'recs' || type === 'want' || type === 'segs' || type === 'ack') o.recordFrameBytes(bytes)
      }
    }),
    // /ferry/members/1: folders' signed member lists and each device's storage quota
    membersService({ logName: 'ferry:relay:members' })({ ...base, lists: o.memberLists, hangUp: o.hangUp })
  ]
}

/** `folder` with its quota refusals also reported to `report` */
function reportQuota (folder: ReplicaFolder | undefined, report: (err: QuotaExceededError) => void): ReplicaFolder | undefined {
  const admit = folder?.admitBlock
  if (folder === undefined || admit === undefined) return folder
  return {
    ...folder,
    admitBlock: async (cid, bytes) => {
      try { return await admit(cid, bytes) } catch (err) {
        if (err instanceof QuotaExceededError) report(err)
        throw err
      }
    }
  }
}
