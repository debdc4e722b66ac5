import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { ProtocolRegistrar } from '../protocols/wire/registrar.ts'
import { indexService } from '../protocols/index/index.ts'
import { blocksService } from '../protocols/blocks/index.ts'
import { historyService } from '../protocols/history/index.ts'
import { replicaService } from '../protocols/replica/index.ts'
import type { RelayStore } from './store/relay-store.ts'

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
}

/**
 * The protocols a relay serves, as services to start once the node exists. Every access check
 * is per request, against the live config and the store's members.
 */
export function relayProtocolServices (o: RelayProtocolOptions): Startable[] {
  const base = { registrar: o.registrar, logger: o.logger }
  return [
    // /ferry/index/2 (record deltas) and /1, as a device serves them; a trusted device
    // subscribing to a folder shares it with the relay (as its upload does)
    indexService({ logName: 'ferry:relay:index' })({
      ...base,
      folders: { get: async (folder, peer) => o.isTrusted(peer) ? (await o.store.join(folder, peer)).log : undefined }
    }),
    // /ferry/blocks/2 (compressed on request) and /1 (raw), like a device
    blocksService({ logName: 'ferry:relay:blocks' })({
      ...base,
      blocks: {
        mayRead: (peer, folder) => o.isTrusted(peer) && o.store.isMember(folder, peer),
        readBlock: async (_peer, _folder, cid) => await o.readBlock(cid)
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
    // /ferry/replica/2 (record deltas) and /1
    replicaService({ logName: 'ferry:relay:replica' })({
      ...base,
      replicas: {
        open: async (folder, peer, options) => o.isTrusted(peer) ? await o.store.replicaFolder(folder, peer, options) : undefined,
        hangUp: o.hangUp
      },
      onFrame: (type, bytes) => {
        if (type === 'recs' || type === 'want' || type === 'segs' || type === 'ack') o.recordFrameBytes(bytes)
      }
    })
  ]
}
