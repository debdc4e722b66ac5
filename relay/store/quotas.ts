import type { ClassicLevel } from 'classic-level'
import type { CID } from 'multiformats/cid'
import { cidKey } from '../../src/hashing/block-cid.ts'
import { FerryError } from '../../src/errors.ts'
import { AsyncLock } from '../../src/store/async-lock.ts'
import { GroupCommit } from './group-commit.ts'

export const ERR_RELAY_QUOTA = 'ERR_FERRY_RELAY_QUOTA'

/** An upload that would take a device past its storage quota: refused before anything is written. */
export class QuotaExceededError extends FerryError {
  readonly usedBytes: number
  readonly limitBytes: number
  constructor (device: string, usage: { usedBytes: number, limitBytes: number, needBytes: number }) {
    super(`storage quota of ${device} on this relay is full: ${usage.usedBytes} of ${usage.limitBytes} bytes used, a block needs ${usage.needBytes} more`, ERR_RELAY_QUOTA)
    this.usedBytes = usage.usedBytes
    this.limitBytes = usage.limitBytes
  }
}

export interface QuotaUsage {
  usedBytes: number
  /** absent: no limit */
  limitBytes?: number
}

const SYNC = { sync: true } as Record<string, unknown>

/**
 * Storage per device (the member that uploaded each block): `quota` sublevel with
 * `limit <device>` -> bytes (set while running; else the relay's default), `used <device>` ->
 * bytes, and `owner <cid>` -> device (the first uploader pays; a block already stored costs a
 * later uploader nothing). A block deleted by garbage collection is released from its owner.
 * Bytes in flight are reserved, so concurrent writes of one session cannot overshoot the limit.
 */
export class Quotas {
  private readonly db
  private readonly lock = new AsyncLock()
  private readonly used = new Map<string, number>()
  private readonly limits = new Map<string, number>()
  private readonly reserved = new Map<string, number>()
  /** charges not yet written (see `charge`) */
  private readonly charges: Array<{ device: string, cid: CID, bytes: number }> = []
  private readonly commit = new GroupCommit(async () => { await this.writeCharges() })
  /** the limit of a device without its own; undefined: unlimited */
  defaultLimitBytes: number | undefined

  constructor (db: ClassicLevel<string, Uint8Array>, defaultLimitBytes?: number) {
    this.db = db.sublevel<string, string>('quota', { valueEncoding: 'utf8' })
    this.defaultLimitBytes = defaultLimitBytes
  }

  async open (): Promise<void> {
    for await (const [key, value] of this.db.iterator({ gte: 'limit ', lt: 'limit!' })) this.limits.set(key.slice(6), Number(value))
    for await (const [key, value] of this.db.iterator({ gte: 'used ', lt: 'used!' })) this.used.set(key.slice(5), Number(value))
  }

  limitOf (device: string): number | undefined {
    return this.limits.get(device) ?? this.defaultLimitBytes
  }

  usage (device: string): QuotaUsage {
    const limitBytes = this.limitOf(device)
    const usedBytes = this.used.get(device) ?? 0
    return limitBytes === undefined ? { usedBytes } : { usedBytes, limitBytes }
  }

  /** every device that stored something or has its own limit */
  devices (): string[] {
    return [...new Set([...this.used.keys(), ...this.limits.keys()])].sort()
  }

  /** Sets `device`'s limit (undefined: back to the default), durably. */
  async setLimit (device: string, limitBytes: number | undefined): Promise<void> {
    if (limitBytes === undefined) {
      await this.db.del(`limit ${device}`, SYNC)
      this.limits.delete(device)
    } else {
      await this.db.put(`limit ${device}`, String(limitBytes), SYNC)
      this.limits.set(device, limitBytes)
    }
  }

  /** Reserves `bytes` for `device` or throws QuotaExceededError; `release` it once written (or not). */
  reserve (device: string, bytes: number): void {
    const limit = this.limitOf(device)
    const reserved = this.reserved.get(device) ?? 0
    const used = this.used.get(device) ?? 0
    if (limit !== undefined && used + reserved + bytes > limit) throw new QuotaExceededError(device, { usedBytes: used, limitBytes: limit, needBytes: bytes })
    this.reserved.set(device, reserved + bytes)
  }

  release (device: string, bytes: number): void {
    const left = (this.reserved.get(device) ?? 0) - bytes
    if (left > 0) this.reserved.set(device, left)
    else this.reserved.delete(device)
  }

  /**
   * `device` stored `cid` (`bytes`): charged to it unless the block already has an owner. Durable
   * before it resolves. Charges that arrive while one is being written are written together, in
   * one synced batch (a group commit): the blocks of one upload arrive many at once, and a synced
   * write each, one after another under the lock, cost the relay an fsync per block.
   */
  async charge (device: string, cid: CID, bytes: number): Promise<void> {
    this.charges.push({ device, cid, bytes })
    await this.commit.join()
  }

  /** writes every charge waiting, in one synced batch (under the lock `released` takes too) */
  private async writeCharges (): Promise<void> {
    const group = this.charges.splice(0)
    if (group.length === 0) return
    await this.lock.run(async () => {
      const keys = group.map(c => `owner ${cidKey(c.cid)}`)
      const owners = await this.db.getMany(keys)
      const ops: Array<{ type: 'put', key: string, value: string }> = []
      const used = new Map<string, number>()
      const owned = new Set<string>()
      group.forEach((c, i) => {
        const key = keys[i]!
        if (owners[i] !== undefined || owned.has(key)) return // the first uploader pays
        owned.add(key)
        used.set(c.device, (used.get(c.device) ?? this.used.get(c.device) ?? 0) + c.bytes)
        ops.push({ type: 'put', key, value: `${c.bytes} ${c.device}` })
      })
      for (const [device, bytes] of used) ops.push({ type: 'put', key: `used ${device}`, value: String(bytes) })
      if (ops.length > 0) await this.db.batch(ops, SYNC)
      for (const [device, bytes] of used) this.used.set(device, bytes)
    })
  }

  /** `cid` was deleted: its owner gets its bytes back. */
  async released (cid: CID): Promise<void> {
    await this.lock.run(async () => {
      const key = `owner ${cidKey(cid)}`
      const value = await this.db.get(key)
      if (value === undefined) return
      const [size, device] = value.split(' ') as [string, string]
      const used = Math.max(0, (this.used.get(device) ?? 0) - Number(size))
      await this.db.batch([{ type: 'del', key }, { type: 'put', key: `used ${device}`, value: String(used) }], SYNC)
      this.used.set(device, used)
    })
  }
}
