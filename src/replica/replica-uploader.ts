import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import type { RecordReader } from '../store/record-log.ts'
import type { LocalIndex } from '../store/local-index.ts'
import type { SignedRecord } from '../log/signed-record.ts'
import { ReplicaClient, type BlockToSend } from '../../protocols/replica/index.ts'
import { InvalidMessageError, RemoteError, toError } from '../../protocols/wire/errors.ts'
/** the code a relay refuses a block with when our storage quota there is full */
const ERR_RELAY_QUOTA = 'ERR_FERRY_RELAY_QUOTA'
import { cidKey } from '../hashing/block-cid.ts'
import type { EventSink } from '../events/node-events.ts'
import type { RelayMembership, RelayQuota } from './relay-membership.ts'
import type { SealedFolders } from './sealed-folders.ts'
import { sealedSession } from './sealed-upload.ts'

export interface ReplicaUploaderComponents {
  folder: string
  /** the replica's device id (a relay) */
  replica: string
  /** the folder's records, and where our own blocks are */
  store: RecordReader & Pick<LocalIndex, 'blockLocations'>
  /** verified bytes of one of our blocks from our files, or undefined (file changed or gone) */
  readBlock: (cid: CID, size: number) => Promise<Uint8Array | undefined>
  /** opens a /ferry/replica/2 (or /1) stream to the replica */
  openStream: (signal?: AbortSignal) => Promise<Stream>
  isConnected: () => boolean
  hangUp: (reason: Error) => void
  /** this device's id: a sealed upload sends only our own records (envelopes are signed by their author) */
  self?: string
  /** the folder is sealed on the replica (it sees only ciphertext): src/replica/sealed-upload.ts */
  sealed?: SealedFolders
  /** sealed uploads: our blocks read without pacing, and the pacing of what is sent */
  readUnpaced?: (cid: CID, size: number, into?: Uint8Array) => Promise<Uint8Array | undefined>
  pace?: (bytes: number) => Promise<void>
  /** each session that stored records or blocks on the replica is reported here, and each refusal */
  events?: EventSink
  /** the folder's member list on the replica, sent before sessions (and the quota read); absent: none */
  membership?: RelayMembership
  log: Logger
}

/** records per step: their blocks go first, then the records */
export const DEFAULT_RECORDS_PER_STEP = 256
/** block bytes per step (a bigger single file is one step; its blocks are streamed) */
export const DEFAULT_BLOCK_BYTES_PER_STEP = 64 * 1024 * 1024
export const DEFAULT_RETRY_MS = 1_000
export const DEFAULT_REFUSED_RETRY_MS = 5_000
/** a session the relay refused (a full quota) is tried again after this, doubling up to the max */
export const DEFAULT_REFUSED_MAX_RETRY_MS = 30_000
/** a block that could not be read (file changing) is tried again after this */
export const DEFAULT_UNREADABLE_RETRY_MS = 2_000
/** even when nothing changed, re-check every block of ours this often (the relay may have lost one) */
export const DEFAULT_AUDIT_INTERVAL_MS = 10 * 60 * 1000

/**
 * Keeps one replica (a relay) holding everything this device has of one folder: every signed
 * record (ours and the other devices' that we hold) and every block of our own files. A session
 * asks the relay for its positions, sends the records after them in steps, each step first
 * asking which of its blocks the relay lacks and sending only those. A session that dies simply
 * leaves the relay with a prefix; the next one asks again, so uploads resume by nature. The first
 * session after each connection (and one every audit interval) also re-checks every block of our
 * live files, so a block the relay lost is sent again.
 */
export class ReplicaUploader {
  private readonly c: ReplicaUploaderComponents
  private dirty = true
  private auditDue = true
  private synced = false
  private running = false
  private stopped = false
  private retryTimer?: NodeJS.Timeout
  private auditTimer?: NodeJS.Timeout
  private unsubscribe?: () => void
  /** block bytes the replica acknowledged (durable) since start */
  sentBytes = 0
  sentRecords = 0
  /** why the replica refuses our uploads now (a full quota); cleared by a session that completes */
  refused?: { code: string, reason: string }
  private refusedRetryMs = DEFAULT_REFUSED_RETRY_MS

  constructor (components: ReplicaUploaderComponents) {
    this.c = components
  }

  get replica (): string { return this.c.replica }

  start (): void {
    this.unsubscribe = this.c.store.onChange(() => {
      this.dirty = true
      this.synced = false
      this.kick()
    })
    this.auditTimer = setInterval(() => { this.auditDue = true; this.kick() }, DEFAULT_AUDIT_INTERVAL_MS)
    this.kick()
  }

  stop (): void {
    this.stopped = true
    this.unsubscribe?.()
    clearTimeout(this.retryTimer)
    clearInterval(this.auditTimer)
  }

  /** true once the replica acknowledged every record and every block of our files, and is connected */
  inSync (): boolean {
    return this.synced && this.c.isConnected()
  }

  /** our storage on the replica, as it last told us */
  get quota (): RelayQuota | undefined { return this.c.membership?.quota }

  /** the folder's members may have changed: a session sends the new list */
  membersChanged (): void {
    if (this.c.membership?.changed() !== true) return
    this.dirty = true
    this.kick()
  }

  /** the replica (re)connected: it may have lost or never got anything; check everything */
  connected (): void {
    this.c.membership?.recheck()
    this.auditDue = true
    this.dirty = true
    this.synced = false
    this.kick()
  }

  private kick (): void {
    if (this.running || this.stopped) return
    if (!this.c.isConnected()) { this.synced = false; return }
    clearTimeout(this.retryTimer)
    this.running = true
    void this.loop().catch(err => { this.c.log('upload of %s to %s failed: %s', this.c.folder, this.c.replica, toError(err).message) }).finally(() => { this.running = false })
  }

  private retryIn (ms: number): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => this.kick(), ms)
  }

  private async loop (): Promise<void> {
    while (!this.stopped && (this.dirty || this.auditDue) && this.c.isConnected()) {
      const audit = this.auditDue
      this.dirty = false
      this.auditDue = false
      try {
        const complete = await this.session(audit)
        if (!complete) {
          this.dirty = true
          this.retryIn(DEFAULT_UNREADABLE_RETRY_MS)
          return
        }
        if (!this.dirty) this.synced = true
        this.refused = undefined
        this.refusedRetryMs = DEFAULT_REFUSED_RETRY_MS
      } catch (e) {
        const err = toError(e)
        this.synced = false
        this.dirty = true
        if (audit) this.auditDue = true
        if (this.stopped) return
        this.c.log('upload of %s to %s failed: %s', this.c.folder, this.c.replica, err.message)
        if (err instanceof InvalidMessageError) {
          this.c.hangUp(err)
          return
        }
        if (err instanceof RemoteError && err.code === ERR_RELAY_QUOTA) {
          this.onRefused(err)
          return
        }
        this.retryIn(err instanceof RemoteError ? DEFAULT_REFUSED_RETRY_MS : DEFAULT_RETRY_MS)
        return
      }
    }
  }

  /** the relay refused to store more (its code and message say why): told once, retried with backoff */
  private onRefused (err: RemoteError): void {
    const reason = err.message.replace(/^.*?peer refused: /, '')
    if (this.refused?.reason !== reason) this.c.events?.emit({ type: 'replica.refused', detail: { folder: this.c.folder, replica: this.c.replica, code: err.code, reason } })
    this.refused = { code: err.code, reason }
    // the quota it reports now
    void this.c.membership?.sync().catch(() => {})
    this.retryIn(this.refusedRetryMs)
    this.refusedRetryMs = Math.min(this.refusedRetryMs * 2, DEFAULT_REFUSED_MAX_RETRY_MS)
  }

  /** One session; resolves false if some of our blocks could not be read (files changing). */
  private async session (audit: boolean): Promise<boolean> {
    const store = this.c.store
    // the member list first: without it the relay answers the session as for an unknown folder
    await this.c.membership?.sync().catch((err: Error) => { this.c.log('member list of %s on %s: %s', this.c.folder, this.c.replica, err.message) })
    const client = await ReplicaClient.open(await this.c.openStream(), this.c.folder)
    const before = { records: this.sentRecords, blockBytes: this.sentBytes }
    if (this.c.sealed !== undefined && this.c.self !== undefined) {
      const { complete, records } = await sealedSession(client, {
        folder: this.c.folder,
        self: this.c.self,
        store,
        sealed: this.c.sealed,
        readBlock: this.c.readUnpaced ?? this.c.readBlock,
        ...(this.c.pace === undefined ? {} : { pace: this.c.pace }),
        onAcked: bytes => { this.sentBytes += bytes },
        recordsPerStep: DEFAULT_RECORDS_PER_STEP,
        blockBytesPerStep: DEFAULT_BLOCK_BYTES_PER_STEP
      }, audit)
      this.sentRecords += records
      await client.close()
      await this.reportSession(before)
      return complete
    }
    let complete = true
    let step: SignedRecord[] = []
    let stepBytes = 0
    const flush = async (): Promise<void> => {
      if (step.length === 0) return
      if (!(await this.sendBlocksOf(client, step.map(s => s.record.blocks)))) complete = false
      await client.sendRecords(step)
      this.sentRecords += step.length
      step = []
      stepBytes = 0
    }
    for (const device of store.devices()) {
      for await (const s of store.recordsAfter(device, client.positions[device] ?? 0)) {
        step.push(s)
        stepBytes += s.record.deleted ? 0 : s.record.size
        if (step.length >= DEFAULT_RECORDS_PER_STEP || stepBytes >= DEFAULT_BLOCK_BYTES_PER_STEP) await flush()
      }
    }
    await flush()
    if (audit) {
      // every block of our live files, whether or not its record was new to the relay
      const lists = [...store.ownRecords().values()].filter(r => !r.deleted && r.type === 'file').map(r => r.blocks)
      if (!(await this.sendBlocksOf(client, lists))) complete = false
    }
    await client.close()
    await this.reportSession(before)
    return complete
  }

  private async reportSession (before: { records: number, blockBytes: number }): Promise<void> {
    const records = this.sentRecords - before.records
    const blockBytes = this.sentBytes - before.blockBytes
    if (records > 0 || blockBytes > 0) {
      this.c.events?.emit({ type: 'replica.uploaded', detail: { folder: this.c.folder, replica: this.c.replica, records, blockBytes } })
      await this.c.membership?.sync().catch(() => {}) // the quota after what we stored
    }
  }

  /** Sends the blocks of these lists that we hold and the relay lacks; false if some were unreadable. */
  private async sendBlocksOf (client: ReplicaClient, lists: ReadonlyArray<ReadonlyArray<{ cid: CID, size: number }>>): Promise<boolean> {
    const store = this.c.store
    const ours = new Map<string, BlockToSend>()
    for (const list of lists) {
      for (const b of list) {
        const k = cidKey(b.cid)
        // only blocks of our own files can be sent; others' blocks come from their authors
        if (!ours.has(k) && store.blockLocations(b.cid).length > 0) ours.set(k, { cid: b.cid, size: b.size })
      }
    }
    if (ours.size === 0) return true
    const lacking = await client.lacking([...ours.values()].map(b => b.cid))
    const toSend = lacking.map(c => ours.get(cidKey(c))!)
    const unreadable = await client.sendBlocks(toSend, async b => await this.c.readBlock(b.cid, b.size), b => { this.sentBytes += b.size })
    return unreadable.length === 0
  }
}
