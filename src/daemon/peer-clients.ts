import { logger, type Logger } from '@libp2p/logger'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Config } from '../config/config.ts'
import type { FerryNode } from '../node/create-node.ts'
import type { FolderSync } from '../sync/folder-sync.ts'
import { BlockFetcher } from '../sync/block-fetcher.ts'
import { ReplicaUploads } from '../replica/replica-uploads.ts'
import type { Membership } from '../access/membership.ts'
import { BLOCKS_PROTOCOLS, contiguous, fetchBlocks } from '../../protocols/blocks/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import { SealedFolders } from '../replica/sealed-folders.ts'
import { cidKey } from '../hashing/block-cid.ts'
import { fetchHistory, HISTORY_PROTOCOL_V1 } from '../../protocols/history/index.ts'
import { askRelaysForHistory } from '../replica/relay-history.ts'
import type { RemoteHistory } from '../history/revisions.ts'
import { REPLICA_SEALED_PROTOCOLS } from '../../protocols/replica/index.ts'
import { IndexSubscriptions } from './index-subscriptions.ts'
import { MEMBERS_PROTOCOLS } from '../../protocols/members/index.ts'
import { relayMembersOf } from '../replica/relay-membership.ts'
import { signMemberList } from '../access/member-list.ts'
import { DeviceDialer } from './device-dialer.ts'
import { reachedOnlyViaRelay } from '../replica/relayed-dial.ts'
import type { PeerIds } from './peer-ids.ts'
import type { EventSink } from '../events/node-events.ts'
import type { TrafficLimits } from '../node/traffic-limits.ts'
import type { FolderRemovals } from './folder-removals.ts'
import { FolderKeys } from './folder-keys.ts'
import { KEYS_PROTOCOL_V1 } from '../../protocols/keys/index.ts'
import { SEALED_KEYRING_PROTOCOL_V1 } from '../../protocols/sealed-keyring/index.ts'
import { folderRecoveryKeys } from '../keys/recovery-identity.ts'

/** a stream to a peer that is not open by then is given up (the peer is asked again later) */
export const DIAL_TIMEOUT_MS = 10_000

/** What the daemon's outbound side needs. */
export interface PeerClientsComponents {
  /** the device's home (its folder keyrings) */
  home: string
  self: string
  /** the started node (throws before start) */
  node: () => FerryNode
  /** this device's key: it signs what it seals for relays and the folders' member lists there */
  key: PrivateKey
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
  /** folder keyrings traded with members */
  keys: FolderKeys
  /** what relays hold of our folders is sealed: keys, envelopes, opening */
  sealed: SealedFolders
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
  const openBlocksStream = async (peer: string, signal?: AbortSignal): Promise<Stream> => {
    const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS)
    return await c.node().dialProtocol(c.peerIds.of(peer), [...BLOCKS_PROTOCOLS], { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
  }
  const isReplica = (folder: string, peer: string): boolean => membership.replicasOf(folder).includes(peer)
  const sealed = new SealedFolders({
    home: c.home,
    key: c.key,
    fetchStored: async (folder, relay, wanted) => {
      const out = new Map<string, Uint8Array>()
      await fetchBlocks(await openBlocksStream(relay), folder, wanted, { onBlock: async (cid, data) => { out.set(cidKey(cid), contiguous(data)) } })
      return out
    },
    fetchHistory: async (folder, relay, path) => await fetchHistory(await c.node().dialProtocol(peerIdFromString(relay), HISTORY_PROTOCOL_V1, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }), folder, path),
    hangUp: (relay, reason) => { c.hangUp(relay, reason) }
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
    isReplica,
    onSynced: (folder, peer) => { c.removals.accepted(folder, peer) },
    sealedFrom: (folder, peer) => isReplica(folder, peer) ? async pairs => await sealed.open(folder, peer, pairs) : undefined
  })
  const fetcher = new BlockFetcher({
    openBlocksStream,
    sealedSource: (folder, peer) => isReplica(folder, peer)
      ? { stored: cid => sealed.stored(folder, cid), open: async (cid, data) => await sealed.openStored(folder, cid, data) }
      : undefined,
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
    readBlock: async (folder, cid, _size, into) => await c.folders.get(folder)?.readBlock(cid, into),
    openStream: async (peer, signal) => {
      const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS)
      return await c.node().dialProtocol(peerIdFromString(peer), [...REPLICA_SEALED_PROTOCOLS], { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
    },
    isConnected: c.isConnected,
    hangUp: (peer, reason) => c.hangUp(peer, reason),
    ...(c.events === undefined ? {} : { events: c.events }),
    self: c.self,
    sealed,
    paceUpload: async (peer, bytes) => { await c.limits.pace('upload', peer, bytes) },
    memberLists: {
      membersOf: folder => relayMembersOf(c.config().folders[folder] ?? { path: '', members: {} }, membership.self),
      sign: async list => await signMemberList(list, c.key, membership.self),
      recoveryKey: folderRecoveryKeys(c.home),
      openStream: async (peer, signal) => {
        const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS)
        return await c.node().dialProtocol(peerIdFromString(peer), [...MEMBERS_PROTOCOLS], { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
      }
    }
  })
  const keys = new FolderKeys({
    home: c.home,
    membership,
    config: c.config,
    openStream: async peer => await c.node().dialProtocol(c.peerIds.of(peer), KEYS_PROTOCOL_V1, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }),
    openSealedStream: async peer => await c.node().dialProtocol(c.peerIds.of(peer), SEALED_KEYRING_PROTOCOL_V1, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }),
    isConnected: c.isConnected,
    hangUp: (peer, reason) => { c.hangUp(peer, reason) },
    events: c.events ?? { emit: () => {} },
    log: logger('ferry:keys')
  })
  return { dialer, subscriptions, fetcher, replicas, keys, sealed }
}

/** a trusted peer connected: subscribe to its folders' indexes; upload to it if it is a replica */
export function peerReady (clients: PeerClients, peer: string): void {
  clients.subscriptions.ensure(peer)
  clients.replicas.peerConnected(peer)
  clients.keys.peerReady(peer)
}

/** after a config change: uploads, subscriptions and dials under the new rules */
export function afterReload (clients: PeerClients, connected: readonly string[]): void {
  clients.replicas.update()
  for (const peer of connected) clients.subscriptions.ensure(peer)
  // a member added (share): it gets the folder's keys now, and we its
  for (const peer of connected) clients.keys.peerReady(peer)
  // the user may have fixed an address or a trust: try everyone again now
  clients.dialer.reset()
  clients.dialer.dialAll()
}

/** whether a folder has a replica (a relay): then the device listens through relays */
export function usesRelay (config: Config): boolean {
  return Object.values(config.folders).some(f => Object.values(f.members).includes('replica'))
}

/** What the folder's connected relays keep of `path` (src/replica/relay-history.ts). */
export async function relayHistoryOf (o: { folder: string, path: string, self: string, sealed: SealedFolders, membership: Membership, node: FerryNode, isConnected: (peer: string) => boolean, hangUp: (peer: string, reason: Error) => void, events: EventSink }): Promise<RemoteHistory> {
  return await askRelaysForHistory(o.folder, o.path, {
    relays: o.membership.replicasOf(o.folder).filter(r => o.isConnected(r)),
    openStream: async relay => await o.node.dialProtocol(peerIdFromString(relay), HISTORY_PROTOCOL_V1, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }),
    accepts: device => device === o.self || o.membership.acceptsChangesFrom(o.folder, device),
    hangUp: o.hangUp,
    events: o.events,
    sealed: o.sealed
  })
}
