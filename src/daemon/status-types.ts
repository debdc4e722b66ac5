import type { FolderStatus } from '../sync/folder-sync.ts'
import type { ReadOnlyStatus } from '../sharing/read-only.ts'
import type { IndexTraffic } from './index-subscriptions.ts'
import type { ConnectionPath, ConnectionTransport } from '../node/connection-path.ts'
import type { LimitsStatus } from '../node/traffic-limits.ts'
import type { FolderRemoval } from './folder-removals.ts'
import type { UploadStatus } from './upload-tracker.ts'

/** What `GET /status` answers (the daemon's `status()`); read routes, metrics and the CLI read it. */
export interface PeerStatus {
  id: string
  name?: string
  connected: boolean
  addrs: string[]
  /** ms since the epoch: now while connected, else when its last connection closed (absent: not seen since start) */
  lastSeen?: number
  /** while connected: how (the best of its open connections; src/node/connection-path.ts) */
  path?: ConnectionPath
  transport?: ConnectionTransport
  /** a relay (its id) refused to carry a connection to this peer today (UTC): its daily limit is reached */
  relayLimited?: string
  /** whole percent of our live files (by bytes) that its records say it holds in the same version (absent: no folder shared) */
  completion?: number
}
export interface DaemonStatus {
  deviceId: string
  listenAddrs: string[]
  peers: PeerStatus[]
  folders: Array<FolderStatus & Partial<ReadOnlyStatus> & {
    /** present when the folder has a replica member: it holds every local block and record */
    replicaInSync?: boolean
    /** block bytes the folder's replicas acknowledged since start */
    replicaSentBytes?: number
    /** this device's storage on the folder's relay: bytes of the blocks it stored there, and its limit (absent: unlimited) */
    relayQuota?: { relay: string, usedBytes: number, limitBytes?: number }
    /** why the relay refuses our uploads now (`code` ERR_FERRY_RELAY_QUOTA: the quota is full); retried with backoff */
    replicaRefused?: { relay: string, code: string, reason: string }
    /** config `paused` (`ferry folder pause`): the folder is not synced */
    paused?: true
    /** a member refused us the folder ("not a member"): it removed this device (`ferry unshare`); `since`: ms since the epoch */
    removed?: FolderRemoval
  }>
  /** files peers fetch from us now: block bytes served per (peer, folder, file) */
  uploads?: UploadStatus[]
  /** block bytes received per peer since start */
  receivedBytes: Record<string, number>
  /** per peer, since start, on our index subscriptions to it: records received, bytes of index messages both ways */
  indexTraffic: Record<string, IndexTraffic>
  /** rate limits on block traffic in force (bytes/s; absent: unlimited) and the current rates, both ways */
  limits?: LimitsStatus
}

export type { IndexTraffic }
