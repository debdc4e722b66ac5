import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { ProtocolRegistrar } from '../../protocols/wire/registrar.ts'
import { indexService, type RecordSource } from '../../protocols/index/index.ts'
import { blocksService } from '../../protocols/blocks/index.ts'
import { joinService, type JoinInvitations } from '../../protocols/join/index.ts'
import { keysService } from '../../protocols/keys/index.ts'
import type { FolderKeys } from './folder-keys.ts'
import { trustedOnly } from '../node/stranger-guard.ts'

/** One running folder as the daemon's servers see it. */
export interface ServedFolder {
  store: RecordSource
  readBlock: (cid: CID) => Promise<Uint8Array | undefined>
}

export interface DaemonProtocolOptions {
  /** the node (its `handle`/`unhandle`) */
  registrar: ProtocolRegistrar
  logger: ComponentLogger
  /** devices in the config: only they may open any protocol but join */
  isTrusted: (peer: string) => boolean
  /** `peer` is a member of `folder` allowed to read it */
  mayRead: (folder: string, peer: string) => boolean
  /** a running folder by id (folders come and go with reloads: looked up per request) */
  folder: (id: string) => ServedFolder | undefined
  /** a block of `folder` read for `peer` is passed through here (metrics, uploads in the status) */
  served: (served: { peer: string, folder: string, cid: CID }, block: Uint8Array | undefined) => Uint8Array | undefined
  /** resolves when `bytes` of block data may go to `peer` (rate limits) */
  paceUpload: (peer: string, bytes: number) => Promise<void>
  invitations: JoinInvitations
  /** folder keyrings: traded with members only (never a replica) */
  keys: FolderKeys
}

/**
 * The protocols a device serves, as services to start once the node exists: index and blocks
 * for trusted devices only (their registrar goes through `onlyTrusted`, as every protocol but
 * join: a pending invitation lets strangers connect), and join.
 */
export function daemonProtocolServices (o: DaemonProtocolOptions): Startable[] {
  const base = { registrar: o.registrar, logger: o.logger }
  return [
    // /ferry/index/2 (record deltas) and /1 for older peers
    trustedOnly(indexService(), o.isTrusted)({
      ...base,
      folders: {
        get: (folder, peer) => o.mayRead(folder, peer) ? o.folder(folder)?.store : undefined,
        // a member asking for a folder not running here (paused, stopped): not a removal
        unavailable: (folder, peer) => o.mayRead(folder, peer) && o.folder(folder) === undefined
      }
    }),
    // /ferry/blocks/2 and, for older peers, /1 (raw blocks only)
    trustedOnly(blocksService(), o.isTrusted)({
      ...base,
      blocks: {
        mayRead: (peer, folder) => o.mayRead(folder, peer) && o.folder(folder) !== undefined,
        readBlock: async (peer, folder, cid) => o.served({ peer, folder, cid }, await o.folder(folder)?.readBlock(cid)),
        paceUpload: o.paceUpload
      }
    }),
    // /ferry/keys/1.0.0: a member's keyring for ours
    trustedOnly(keysService(), o.isTrusted)({ ...base, keys: { exchange: async (peer, folder, keys) => await o.keys.answer(peer, folder, keys) } }),
    joinService()({ ...base, invitations: o.invitations, isTrusted: o.isTrusted, keysOf: async folder => await o.keys.keysOf(folder) })
  ]
}
