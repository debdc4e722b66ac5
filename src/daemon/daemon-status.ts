import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection } from '@libp2p/interface'
import { bestRoute } from '../node/connection-path.ts'
import type { Config } from '../config/config.ts'
import type { FerryNode } from '../node/create-node.ts'
import type { FolderSync } from '../sync/folder-sync.ts'
import type { Membership } from '../access/membership.ts'
import type { BlockFetcher } from '../sync/block-fetcher.ts'
import type { ReplicaUploads } from '../replica/replica-uploads.ts'
import type { ReadOnlyFolders } from '../sharing/read-only.ts'
import type { IndexSubscriptions } from './index-subscriptions.ts'
import type { TrafficLimits } from '../node/traffic-limits.ts'
import { pausedFolderStatus } from './folder-control-routes.ts'
import type { DaemonStatus, PeerStatus } from './status-types.ts'
import type { PeerPresence } from './peer-presence.ts'
import type { UploadTracker } from './upload-tracker.ts'
import type { FolderRemovals } from './folder-removals.ts'
import { folderHoldings, peerCompletion, type FolderHoldings, type HoldingsCache } from './peer-completion.ts'

/** What `GET /status` reads. */
export interface DaemonStatusSources {
  self: string
  node: FerryNode
  config: Config
  folders: ReadonlyMap<string, FolderSync>
  membership: Membership
  subscriptions: IndexSubscriptions
  replicas: ReplicaUploads
  readOnly: ReadOnlyFolders
  fetcher: BlockFetcher
  limits: TrafficLimits
  isConnected: (peer: string) => boolean
  /** the relay that refused to carry a connection to `peer` today, if any */
  relayLimited?: (peer: string) => string | undefined
  presence: PeerPresence
  uploads: UploadTracker
  removals: FolderRemovals
  /** holdings kept between requests (peer-completion.ts); without it each request counts them */
  holdings?: HoldingsCache
}

export function daemonStatus (s: DaemonStatusSources): DaemonStatus {
  const node = s.node
  const isPunched = (c: Connection): boolean => node.services.dcutr?.isPunched(c) ?? false
  const now = Date.now()
  // computed once per folder, on demand, for every peer
  s.holdings?.keep(s.folders)
  const holdings = new Map<string, FolderHoldings | undefined>()
  const holdingsOf = (folder: string): FolderHoldings | undefined => {
    if (!holdings.has(folder)) { const sync = s.folders.get(folder); holdings.set(folder, sync === undefined ? undefined : s.holdings?.of(folder, sync.store, now) ?? folderHoldings(sync.store)) }
    return holdings.get(folder)
  }
  const peers: PeerStatus[] = Object.entries(s.config.devices).map(([id, d]) => {
    const conns = node.getConnections(peerIdFromString(id))
    const connected = s.isConnected(id)
    const route = connected ? bestRoute(conns, isPunched) : undefined
    const lastSeen = s.presence.lastSeen(id, connected, now)
    const completion = peerCompletion(s.membership.foldersSharedWith(id).flatMap(f => { const h = holdingsOf(f); return h === undefined ? [] : [h] }), id)
    return {
      id,
      ...(d.name === undefined ? {} : { name: d.name }),
      connected,
      addrs: conns.map(c => c.remoteAddr.toString()),
      ...route,
      ...((r => r === undefined ? {} : { relayLimited: r })(s.relayLimited?.(id))),
      ...(lastSeen === undefined ? {} : { lastSeen }),
      ...(completion === undefined ? {} : { completion })
    }
  })
  const folders = [...s.folders.values()].map(sync => {
    const st = sync.status()
    // in sync only if every connected member has told us all it knows (members that removed us aside)
    const heardAll = s.membership.membersOf(sync.folder)
      .filter(p => s.isConnected(p) && !s.removals.hasRefused(sync.folder, p))
      .every(p => s.subscriptions.synced(p, sync.folder))
    const replica = s.replicas.status(sync.folder)
    const removed = s.removals.of(sync.folder)
    return { ...st, inSync: st.inSync && heardAll, ...s.readOnly.status(sync), ...(replica === undefined ? {} : { replicaInSync: replica.inSync, replicaSentBytes: replica.sentBytes, ...(replica.quota === undefined ? {} : { relayQuota: replica.quota }), ...(replica.refused === undefined ? {} : { replicaRefused: replica.refused }) }), ...(removed === undefined ? {} : { removed }) }
  })
  for (const [id, fc] of Object.entries(s.config.folders)) if (fc.paused === true) folders.push(pausedFolderStatus(id, fc))
  return {
    deviceId: s.self,
    listenAddrs: node.getMultiaddrs().map(m => m.toString()),
    peers,
    folders,
    uploads: s.uploads.list(now),
    receivedBytes: Object.fromEntries(s.fetcher.receivedBytes),
    indexTraffic: s.subscriptions.trafficByPeer(),
    limits: s.limits.status()
  }
}
