import { logger, type Logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Config } from '../config/config.ts'
import type { FerryNode } from '../node/create-node.ts'
import type { FolderSync } from '../sync/folder-sync.ts'
import { BlockFetcher } from '../sync/block-fetcher.ts'
import { ReplicaUploads } from '../replica/replica-uploads.ts'
import type { Membership } from '../access/membership.ts'
import { BLOCKS_PROTOCOLS } from '../../protocols/blocks/index.ts'
import { HISTORY_PROTOCOL_V1 } from '../../protocols/history/index.ts'
import { askRelaysForHistory } from '../replica/relay-history.ts'
import type { RemoteHistory } from '../history/revisions.ts'
import { REPLICA_PROTOCOLS } from '../../protocols/replica/index.ts'
import { IndexSubscriptions } from './index-subscriptions.ts'
import { DeviceDialer } from './device-dialer.ts'
import { reachedOnlyViaRelay } from '../replica/relayed-dial.ts'
import type { PeerIds } from './peer-ids.ts'
import type { EventSink } from '../events/node-events.ts'
import type { TrafficLimits } from '../node/traffic-limits.ts'
import type { FolderRemovals } from './folder-removals.ts'

/** a stream to a peer that is not open by then is given up (the peer is asked again later) */
export const DIAL_TIMEOUT_MS = 10_000

/** What the daemon's outbound side needs. */
export interface PeerClientsComponents {
  /** the started node (throws before start) */
  node: () => FerryNode
  config: () => Config
  membership: Membership
  /** the running folders */
  folders: Map<string, FolderSync>
  isConnected: (peer: string) => boolean
  hangUp: (peer: string, reason: Error) => void
  /** replica members of any of our folders: relays, which can also relay connections */
  relays: () => string[]
  /** a relay refused to carry a connection to `peer` (its daily limit is reached) */
  relayLimited?: (peer: string, relay: string) => void
  stopped: () => boolean
  /** parsed peer ids (one cache per daemon) */
  peerIds: PeerIds
  /** where uploads to relays are reported */
  events?: EventSink
  /** rate limits on block traffic: fetching and replica uploads are paced by them */
  limits: TrafficLimits
  log: Logger
  /** members that refused us a folder (we were removed from it there) */
  removals: FolderRemovals
}

/** The daemon's outbound side: who it dials, what it asks peers for, what it uploads to relays. */
export interface PeerClients {
  dialer: DeviceDialer
  /** index subscriptions to every connected member */
  subscriptions: IndexSubscriptions
  /** blocks from members */
  fetcher: BlockFetcher
  /** uploads to the folders' replicas */
  replicas: ReplicaUploads
}

/** replica members of any of our folders: relays, which can also relay connections */
export function relaysOf (config: Config, membership: Membership): string[] {
  return [...new Set(Object.keys(config.folders).flatMap(f => membership.replicasOf(f)))]
}

export function createPeerClients (c: PeerClientsComponents): PeerClients {
  const membership = c.membership
  const dialer = new DeviceDialer({
    node: c.node,
    devices: () => c.config().devices,
    isTrusted: peer => membership.isTrusted(peer),
    isConnected: c.isConnected,
    relays: c.relays,
    stopped: c.stopped,
    log: c.log,
    ...(c.relayLimited === undefined ? {} : { relayLimited: c.relayLimited })
  })
  const subscriptions = new IndexSubscriptions({
    folders: c.folders,
    foldersSharedWith: peer => membership.foldersSharedWith(peer),
    mayRead: (folder, peer) => membership.mayRead(folder, peer),
    isConnected: c.isConnected,
    dialIndex: async (peer, protocols, signal) => await c.node().dialProtocol(peer, protocols, { signal }),
    peerIdOf: peer => c.peerIds.of(peer),
    hangUp: (peer, reason) => { c.hangUp(peer, reason) },
    stopped: c.stopped,
    onNotMember: (folder, peer) => { c.removals.refused(folder, peer) },
    onSynced: (folder, peer) => { c.removals.accepted(folder, peer) }
  })
  const fetcher = new BlockFetcher({
    openBlocksStream: async (peer, signal) => {
      const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS)
      return await c.node().dialProtocol(c.peerIds.of(peer), [...BLOCKS_PROTOCOLS], { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
    },
    isConnected: c.isConnected,
    hangUp: (peer, reason) => c.hangUp(peer, reason),
    paceDownload: async (peer, bytes, signal) => { await c.limits.pace('download', peer, bytes, signal) },
    // the relay carries blocks only when no member reached without it can: its replica, and
    // members reached only through it, serve what those others lack
    isFallback: peer => c.relays().includes(peer) || reachedOnlyViaRelay(c.node(), peer),
    log: logger('ferry:sync:fetch')
  })
  const replicas = new ReplicaUploads({
    stores: () => new Map([...c.folders].map(([id, sync]) => [id, sync.store])),
    replicasOf: folder => membership.replicasOf(folder),
    readBlock: async (folder, cid) => await c.folders.get(folder)?.readBlock(cid),
    openStream: async (peer, signal) => {
      const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS)
      return await c.node().dialProtocol(peerIdFromString(peer), [...REPLICA_PROTOCOLS], { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
    },
    isConnected: c.isConnected,
    hangUp: (peer, reason) => c.hangUp(peer, reason),
    ...(c.events === undefined ? {} : { events: c.events }),
    paceUpload: async (peer, bytes) => { await c.limits.pace('upload', peer, bytes) }
  })
  return { dialer, subscriptions, fetcher, replicas }
}

/** a trusted peer connected: subscribe to its folders' indexes; upload to it if it is a replica */
export function peerReady (clients: PeerClients, peer: string): void {
  clients.subscriptions.ensure(peer)
  clients.replicas.peerConnected(peer)
}

/** after a config change: uploads, subscriptions and dials under the new rules */
export function afterReload (clients: PeerClients, connected: readonly string[]): void {
  clients.replicas.update()
  for (const peer of connected) clients.subscriptions.ensure(peer)
  // the user may have fixed an address or a trust: try everyone again now
  clients.dialer.reset()
  clients.dialer.dialAll()
}

/** whether a folder has a replica (a relay): then the device listens through relays */
export function usesRelay (config: Config): boolean {
  return Object.values(config.folders).some(f => Object.values(f.members).includes('replica'))
}

/** What the folder's connected relays keep of `path` (src/replica/relay-history.ts). */
export async function relayHistoryOf (o: { folder: string, path: string, self: string, membership: Membership, node: FerryNode, isConnected: (peer: string) => boolean, hangUp: (peer: string, reason: Error) => void, events: EventSink }): Promise<RemoteHistory> {
  return await askRelaysForHistory(o.folder, o.path, {
    relays: o.membership.replicasOf(o.folder).filter(r => o.isConnected(r)),
    openStream: async relay => await o.node.dialProtocol(peerIdFromString(relay), HISTORY_PROTOCOL_V1, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }),
    accepts: device => device === o.self || o.membership.acceptsChangesFrom(o.folder, device),
    hangUp: o.hangUp,
    events: o.events
  })
}
