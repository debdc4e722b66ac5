import type { Stream } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { ReplicaUploader, type ReplicaUploaderComponents } from './replica-uploader.ts'
import type { EventSink } from '../events/node-events.ts'
import type { MemberList, MemberRole, SignedMemberList } from '../access/member-list.ts'
import { RelayMembership, type RelayQuota } from './relay-membership.ts'
import type { SealedFolders } from './sealed-folders.ts'

export interface ReplicaUploadsComponents {
  /** folder id -> store, for the folders this device runs */
  stores: () => ReadonlyMap<string, ReplicaUploaderComponents['store']>
  /** replica members (relays) of a folder */
  replicasOf: (folder: string) => string[]
  /** `into`: a buffer the block may be read into (LocalBlockSource.read) */
  readBlock: (folder: string, cid: CID, size: number, into?: Uint8Array) => Promise<Uint8Array | undefined>
  openStream: (peer: string, signal?: AbortSignal) => Promise<Stream>
  isConnected: (peer: string) => boolean
  hangUp: (peer: string, reason: Error) => void
  /** where each upload session that stored something is reported (`replica.uploaded`) */
  events?: EventSink
  /** this device, and its sealed folders: relays are sent only ciphertext */
  self?: string
  sealed?: SealedFolders
  /** resolves when `bytes` more may go to `peer` (rate limits); default: at once */
  paceUpload?: (peer: string, bytes: number) => Promise<void>
  /** the folders' member lists on the relays; absent: none are sent */
  memberLists?: {
    /** the members of `folder` as a relay sees them (relayMembersOf) */
    membersOf: (folder: string) => Record<string, MemberRole>
    sign: (list: MemberList) => Promise<SignedMemberList>
    /** the raw Ed25519 public key of the folder's recovery identity (its current key's), if it has a key */
    recoveryKey?: (folder: string) => Promise<Uint8Array | undefined>
    /** opens a /ferry/members/1 stream to `peer` */
    openStream: (peer: string, signal?: AbortSignal) => Promise<Stream>
  }
}

export interface ReplicaFolderStatus {
  /** every replica of the folder acknowledged every local block and record, and is connected */
  inSync: boolean
  /** block bytes the replicas acknowledged since start */
  sentBytes: number
  /** our storage on the first replica that told us (limitBytes absent: unlimited) */
  quota?: RelayQuota & { relay: string }
  /** why a replica refuses our uploads now (a full quota) */
  refused?: { relay: string, code: string, reason: string }
}

/** The daemon's set of uploaders: one per (folder, replica member), kept in step with the config. */
export class ReplicaUploads {
  private readonly c: ReplicaUploadsComponents
  private readonly uploaders = new Map<string, ReplicaUploader>()

  constructor (components: ReplicaUploadsComponents) {
    this.c = components
  }

  /** Starts uploaders for new (folder, replica) pairs and stops those no longer configured. */
  update (): void {
    const wanted = new Set<string>()
    for (const [folder, store] of this.c.stores()) {
      for (const replica of this.c.replicasOf(folder)) {
        const key = `${folder}/${replica}`
        wanted.add(key)
        const running = this.uploaders.get(key)
        if (running !== undefined) { running.membersChanged(); continue }
        const lists = this.c.memberLists
        const u = new ReplicaUploader({
          folder,
          replica,
          store,
          readBlock: async (cid, size) => {
            const data = await this.c.readBlock(folder, cid, size)
            // each block is sent right after it is read: pacing the reads paces the upload
            if (data !== undefined) await this.c.paceUpload?.(replica, data.byteLength)
            return data
          },
          openStream: async signal => await this.c.openStream(replica, signal),
          isConnected: () => this.c.isConnected(replica),
          hangUp: reason => this.c.hangUp(replica, reason),
          ...(this.c.events === undefined ? {} : { events: this.c.events }),
          ...(lists === undefined ? {} : { membership: new RelayMembership({ folder, openStream: async signal => await lists.openStream(replica, signal), members: () => lists.membersOf(folder), sign: lists.sign, ...(lists.recoveryKey === undefined ? {} : { recoveryKey: async () => await lists.recoveryKey!(folder) }) }) }),
          ...(this.c.sealed === undefined || this.c.self === undefined
            ? {}
            : {
                sealed: this.c.sealed,
                self: this.c.self,
                // a sealed upload reads (and seals) more than it sends: it paces what it sends
                readUnpaced: async (cid: CID, size: number, into?: Uint8Array) => await this.c.readBlock(folder, cid, size, into),
                pace: async (bytes: number) => { await this.c.paceUpload?.(replica, bytes) }
              }),
          log: logger(`ferry:replica:${folder}`)
        })
        this.uploaders.set(key, u)
        u.start()
      }
    }
    for (const [key, u] of this.uploaders) {
      if (wanted.has(key)) continue
      u.stop()
      this.uploaders.delete(key)
    }
  }

  peerConnected (peer: string): void {
    for (const u of this.uploaders.values()) if (u.replica === peer) u.connected()
  }

  /** undefined when the folder has no replica */
  status (folder: string): ReplicaFolderStatus | undefined {
    const list = [...this.uploaders.entries()].filter(([k]) => k.startsWith(`${folder}/`)).map(([, u]) => u)
    if (list.length === 0) return undefined
    const quoted = list.find(u => u.quota !== undefined)
    const refused = list.find(u => u.refused !== undefined)
    return {
      inSync: list.every(u => u.inSync()),
      sentBytes: list.reduce((n, u) => n + u.sentBytes, 0),
      ...(quoted === undefined ? {} : { quota: { relay: quoted.replica, ...quoted.quota! } }),
      ...(refused === undefined ? {} : { refused: { relay: refused.replica, ...refused.refused! } })
    }
  }

  stop (): void {
    for (const u of this.uploaders.values()) u.stop()
    this.uploaders.clear()
  }
}
