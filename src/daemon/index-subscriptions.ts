import { logger } from '@libp2p/logger'
import type { PeerId, Stream } from '@libp2p/interface'
import type { FolderSync } from '../sync/folder-sync.ts'
import { ERR_NOT_MEMBER, INDEX_PROTOCOLS, SegmentIndexes, subscribeIndex } from '../../protocols/index/index.ts'
import { InvalidMessageError, RemoteError, toError } from '../../protocols/wire/errors.ts'
import { InvalidRecordError } from '../log/record-codec.ts'
import { ForgedRecordError } from '../log/signed-record.ts'
import { Backoff } from '../node/backoff.ts'
import { SealOpenError } from '../crypto/seal-errors.ts'
import { MisplacedSealedRecordError } from '../crypto/record-seal.ts'

/** per peer, since start, on our index subscriptions to it: records received, bytes of index messages both ways */
export interface IndexTraffic { records: number, receivedBytes: number, sentBytes: number }

/** a failing subscription is retried after 1-2 s, 2-4 s, ... up to a minute; a refused one from 5 s */
const resubscribe = new Backoff({ baseMs: 1_000, capMs: 60_000 })
const refused = new Backoff({ baseMs: 5_000, capMs: 5 * 60_000 })
const DIAL_TIMEOUT_MS = 10_000

export interface IndexSubscriptionsComponents {
  folders: ReadonlyMap<string, FolderSync>
  foldersSharedWith: (peer: string) => Iterable<string>
  mayRead: (folder: string, peer: string) => boolean
  isConnected: (peer: string) => boolean
  dialIndex: (peer: PeerId, protocols: string[], signal: AbortSignal) => Promise<Stream>
  peerIdOf: (peer: string) => PeerId
  hangUp: (peer: string, reason: Error) => void
  stopped: () => boolean
  /** `peer` refused our subscription to `folder`: we are not a member there (any more) */
  onNotMember?: (folder: string, peer: string) => void
  /**
   * whether `peer` is a replica (a relay) of `folder`: its "not a member" means only that our
   * signed member list has not reached it yet (it is sent as we connect), so it is no removal,
   * and the subscription is retried at the pace of a failure, not of a refusal
   */
  isReplica?: (folder: string, peer: string) => boolean
  /** a relay holding `folder` sealed: what opens the envelopes it sends into the authors' records */
  sealedFrom?: (folder: string, peer: string) => ((pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>) => Promise<Array<[Uint8Array, Uint8Array]>>) | undefined
  /** `peer` sent all it holds of `folder` */
  onSynced?: (folder: string, peer: string) => void
}

interface Subscription { synced: boolean }

/**
 * Our `/ferry/index/*` subscriptions: one per (connected peer, shared folder), kept up while the
 * peer stays connected and a member; a peer that sends bad records is hung up on.
 */
export class IndexSubscriptions {
  private readonly c: IndexSubscriptionsComponents
  private readonly subscriptions = new Map<string, Subscription>()
  private readonly traffic = new Map<string, IndexTraffic>()
  /** block-list segments of each folder's records, for record deltas; one index per store */
  private readonly segments = new SegmentIndexes()

  constructor (components: IndexSubscriptionsComponents) {
    this.c = components
  }

  /** Starts the subscriptions `peer` should have and does not. */
  ensure (peer: string): void {
    for (const folder of this.c.foldersSharedWith(peer)) {
      const key = `${peer}/${folder}`
      if (this.subscriptions.has(key) || !this.c.folders.has(folder)) continue
      const sub: Subscription = { synced: false }
      this.subscriptions.set(key, sub)
      void this.run(peer, folder, sub).catch(err => {
        logger(`ferry:index:client:${folder}`)('subscription to %s failed: %s', peer, toError(err).message)
      }).finally(() => {
        if (this.subscriptions.get(key) === sub) this.subscriptions.delete(key)
        // the peer may have reconnected while this loop was winding down: its peer:connect found
        // this subscription still registered and started none, so start one now
        if (!this.c.stopped() && this.c.isConnected(peer)) this.ensure(peer)
      })
    }
  }

  /** true when our subscription to `peer` for `folder` has received all the peer holds */
  synced (peer: string, folder: string): boolean {
    return this.subscriptions.get(`${peer}/${folder}`)?.synced === true
  }

  /** a copy of the traffic counters, per peer */
  trafficByPeer (): Record<string, IndexTraffic> {
    return Object.fromEntries([...this.traffic].map(([peer, t]) => [peer, { ...t }]))
  }

  /** Keeps one index subscription to `peer` for `folder` while both stay connected and members. */
  private async run (peer: string, folder: string, sub: Subscription): Promise<void> {
    const log = logger(`ferry:index:client:${folder}`)
    let failures = 0
    while (!this.c.stopped() && this.c.isConnected(peer) && this.c.mayRead(folder, peer)) {
      const sync = this.c.folders.get(folder)
      if (sync === undefined) return
      let retryMs: number
      try {
        const stream = await this.c.dialIndex(this.c.peerIdOf(peer), [...INDEX_PROTOCOLS], AbortSignal.timeout(DIAL_TIMEOUT_MS))
        const traffic = this.traffic.get(peer) ?? { records: 0, receivedBytes: 0, sentBytes: 0 }
        this.traffic.set(peer, traffic)
        const open = this.c.sealedFrom?.(folder, peer)
        await subscribeIndex(stream, folder, sync.store.positionVector(), {
          onRecords: async pairs => { await sync.receiveRecords(open === undefined ? pairs : await open(pairs)); traffic.records += pairs.length },
          // a sealed relay's segments are of ciphertext block lists: none of ours match them
          ...(open === undefined ? { segments: this.segments.of(sync.store) } : {}),
          onTraffic: (received, sent) => { traffic.receivedBytes += received; traffic.sentBytes += sent },
          onDeltaBatch: d => log('record deltas from %s: %d of %d segments fetched', peer, d.fetched, d.segments),
          onSynced: () => { sub.synced = true; failures = 0; this.c.onSynced?.(folder, peer); sync.requestSync() }
        })
        // the server ended a subscription that worked: resubscribe soon
        retryMs = resubscribe.delayFor(Math.max(1, failures))
      } catch (err) {
        sub.synced = false
        if (this.c.stopped()) return
        if (err instanceof InvalidMessageError || err instanceof InvalidRecordError || err instanceof ForgedRecordError || err instanceof SealOpenError || err instanceof MisplacedSealedRecordError) {
          this.c.hangUp(peer, err)
          return
        }
        const replica = this.c.isReplica?.(folder, peer) === true
        if (err instanceof RemoteError && err.code === ERR_NOT_MEMBER && !replica) this.c.onNotMember?.(folder, peer)
        failures++
        retryMs = (err instanceof RemoteError && !replica ? refused : resubscribe).delayFor(failures)
        log('subscription to %s ended: %s', peer, toError(err).message)
      }
      await new Promise(resolve => setTimeout(resolve, retryMs))
    }
  }
}
