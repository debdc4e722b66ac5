import { TokenBucket, realClock, type BucketClock } from './token-bucket.ts'
import { RateMeter } from './rate-meter.ts'

export type Direction = 'upload' | 'download'

/** bytes per second each way; absent: unlimited */
export interface Rates { uploadBytesPerSecond?: number, downloadBytesPerSecond?: number }

/** the daemon-wide rates, whether LAN peers are exempt, and per-device rates (device id -> rates) */
export interface LimitSettings extends Rates { exemptLan: boolean, devices: Record<string, Rates> }

const FIELD = { upload: 'uploadBytesPerSecond', download: 'downloadBytesPerSecond' } as const

export interface TrafficLimitsOptions {
  settings: LimitSettings
  /** true when every connection to `peer` is on the LAN (see isLanAddress) */
  isLan: (peer: string) => boolean
  /** the largest block: every bucket holds at least this much */
  minBurstBytes: number
  clock?: BucketClock
}

/** What `status` shows: the limits in force and the current block traffic, in bytes per second. */
export interface LimitsStatus extends LimitSettings {
  uploadRate: number
  downloadRate: number
}

/**
 * The daemon's rate limits on block traffic: one token bucket per direction for the whole
 * daemon, shared by every peer, and one per direction for each device with its own limit. A
 * block passes when both allow (the device's first, then the shared one). Peers on the LAN pass
 * freely when `exemptLan` is set. `update` applies new settings to the running buckets.
 */
export class TrafficLimits {
  private settings: LimitSettings
  private readonly o: TrafficLimitsOptions
  private readonly total: Record<Direction, TokenBucket>
  private readonly perDevice = new Map<string, Record<Direction, TokenBucket>>()
  private readonly meters: Record<Direction, RateMeter>

  constructor (o: TrafficLimitsOptions) {
    this.o = o
    this.settings = o.settings
    this.total = { upload: this.bucket(o.settings.uploadBytesPerSecond), download: this.bucket(o.settings.downloadBytesPerSecond) }
    const now = (o.clock ?? realClock).now
    this.meters = { upload: new RateMeter(now), download: new RateMeter(now) }
    this.update(o.settings)
  }

  private bucket (bytesPerSecond: number | undefined): TokenBucket {
    return new TokenBucket({ ...(bytesPerSecond === undefined ? {} : { bytesPerSecond }), minBurstBytes: this.o.minBurstBytes, ...(this.o.clock === undefined ? {} : { clock: this.o.clock }) })
  }

  update (settings: LimitSettings): void {
    this.settings = settings
    for (const d of ['upload', 'download'] as const) this.total[d].setRate(settings[FIELD[d]])
    for (const [peer, buckets] of this.perDevice) {
      const limits: Rates = settings.devices[peer] ?? {}
      for (const d of ['upload', 'download'] as const) buckets[d].setRate(limits[FIELD[d]])
    }
  }

  /** Waits until `bytes` of block traffic with `peer` may go `direction`, then counts them. */
  async pace (direction: Direction, peer: string, bytes: number, signal?: AbortSignal): Promise<void> {
    const own = this.settings.devices[peer]?.[FIELD[direction]]
    const limited = own !== undefined || this.settings[FIELD[direction]] !== undefined
    // the LAN check (the peer's connections) only when some limit could apply
    if (limited && !(this.settings.exemptLan && this.o.isLan(peer))) {
      if (own !== undefined) await this.deviceBuckets(peer)[direction].take(bytes, signal)
      await this.total[direction].take(bytes, signal)
    }
    this.meters[direction].record(bytes)
  }

  private deviceBuckets (peer: string): Record<Direction, TokenBucket> {
    let b = this.perDevice.get(peer)
    if (b === undefined) {
      const limits = this.settings.devices[peer] ?? {}
      b = { upload: this.bucket(limits.uploadBytesPerSecond), download: this.bucket(limits.downloadBytesPerSecond) }
      this.perDevice.set(peer, b)
    }
    return b
  }

  status (): LimitsStatus {
    return { ...this.settings, uploadRate: this.meters.upload.bytesPerSecond(), downloadRate: this.meters.download.bytesPerSecond() }
  }
}
