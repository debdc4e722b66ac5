import { SimDevice, type CreatedRecord } from './sim-device.ts'

/**
 * Drives simulated devices through a history of user operations and one-directional syncs,
 * then lets them settle: full rounds of pairwise syncs until a round changes nothing.
 */

export type HistoryOp =
  | { readonly kind: 'write', readonly device: number, readonly path: string, readonly content: string }
  | { readonly kind: 'delete', readonly device: number, readonly path: string }
  | { readonly kind: 'rename', readonly device: number, readonly from: string, readonly to: string }
  | { readonly kind: 'mkdir', readonly device: number, readonly path: string }
  /** `to` receives everything `from` holds, then plans and applies */
  | { readonly kind: 'sync', readonly from: number, readonly to: number }

export const DEFAULT_START_MS = Date.UTC(2025, 2, 14, 9, 26, 53)
/** one clock step per new version: conflict names have second resolution */
export const DEFAULT_TICK_MS = 1000
export const DEFAULT_MAX_SETTLE_ROUNDS = 50
export const DEVICE_NAMES = ['DeviceA', 'DeviceB', 'DeviceC', 'DeviceD', 'DeviceE', 'DeviceF']

export interface HistoryOptions {
  /** number of devices, 1 to DEVICE_NAMES.length */
  readonly devices: number
  readonly startMs?: number
  readonly tickMs?: number
  readonly maxSettleRounds?: number
}

export interface HistoryResult {
  readonly devices: SimDevice[]
  /** every record made as a new version, in order: user operations, conflict copies, implicit dirs */
  readonly created: CreatedRecord[]
  /** full rounds settle() took, the last (quiet) one included */
  readonly settleRounds: number
}

export class LivelockError extends Error {
  static override readonly name = 'LivelockError'
  override readonly name = 'LivelockError'
}

/** Devices sharing one simulated clock; ids look like peer ids and end in a distinct name. */
export function createDevices (count: number, options: { startMs?: number, tickMs?: number, onCreate?: (c: CreatedRecord) => void } = {}): SimDevice[] {
  if (count < 1 || count > DEVICE_NAMES.length) throw new RangeError(`device count must be 1..${DEVICE_NAMES.length}: ${count}`)
  let now = options.startMs ?? DEFAULT_START_MS
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS
  const clock = (): number => (now += tickMs)
  return DEVICE_NAMES.slice(0, count).map(name => new SimDevice({ id: `12D3KooWSim${name}`, clock, onCreate: options.onCreate }))
}

/** One direction: `to` takes `from`'s records, then plans and applies. Returns actions executed. */
export function syncOnce (from: SimDevice, to: SimDevice): number {
  to.receiveFrom(from)
  return to.planAndApply()
}

/** Every ordered pair syncs once. Returns actions executed. */
export function fullRound (devices: readonly SimDevice[]): number {
  let actions = 0
  for (const to of devices) {
    for (const from of devices) {
      if (from !== to) actions += syncOnce(from, to)
    }
  }
  return actions
}

/**
 * Full rounds until one executes no action: then every device holds every record and has
 * nothing to do. More than `maxRounds` rounds is a livelock.
 */
export function settle (devices: readonly SimDevice[], maxRounds = DEFAULT_MAX_SETTLE_ROUNDS): number {
  for (let round = 1; round <= maxRounds; round++) {
    if (fullRound(devices) === 0) return round
  }
  throw new LivelockError(`devices still executing actions after ${maxRounds} full sync rounds`)
}

export function applyOp (devices: readonly SimDevice[], op: HistoryOp): void {
  const device = (i: number): SimDevice => {
    const d = devices[i]
    if (d === undefined) throw new RangeError(`no device ${i}`)
    return d
  }
  switch (op.kind) {
    case 'write': device(op.device).userWrite(op.path, op.content); return
    case 'delete': device(op.device).userDelete(op.path); return
    case 'rename': device(op.device).userRename(op.from, op.to); return
    case 'mkdir': device(op.device).userMkdir(op.path); return
    case 'sync': if (op.from !== op.to) syncOnce(device(op.from), device(op.to))
  }
}

/** Applies `ops` in order, then settles. */
export function runHistory (ops: readonly HistoryOp[], options: HistoryOptions): HistoryResult {
  const created: CreatedRecord[] = []
  const devices = createDevices(options.devices, { startMs: options.startMs, tickMs: options.tickMs, onCreate: c => created.push(c) })
  for (const op of ops) applyOp(devices, op)
  const settleRounds = settle(devices, options.maxSettleRounds)
  return { devices, created, settleRounds }
}
