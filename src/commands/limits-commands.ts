import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import type { DaemonStatus } from '../daemon/status-types.ts'
import type { LimitsStatus } from '../node/traffic-limits.ts'
import type { Config, RateLimits } from '../config/config-types.ts'
import { loadConfig } from '../config/config.ts'
import { updateConfig } from '../config/config-changes.ts'
import { resolveDeviceRef } from '../config/device-ref.ts'
import { parseByteRate, RateError } from '../config/byte-rate.ts'
import { DEFAULT_EXEMPT_LAN } from '../config/limits-config.ts'
import { FerryError } from '../errors.ts'
import { reloadDaemon } from './reload-daemon.ts'

/** words that remove a limit */
const NO_LIMIT = new Set(['0', 'off', 'none', 'unlimited'])

export interface LimitsSetOptions {
  /** a device name, id or id prefix: that device's own limits; absent: the daemon-wide ones */
  device?: string
  /** a rate ('10MiB', '512KiB', '1MB', bytes) or 'unlimited'/'off'/'0'; absent: unchanged */
  upload?: string
  download?: string
}

export interface LimitsSetResult {
  /** absent: the daemon-wide limits */
  device?: string
  limits: RateLimits
  daemonReloaded: boolean
}

function applyRate (limits: RateLimits, key: keyof RateLimits, value: string | undefined, flag: string): void {
  if (value === undefined) return
  if (NO_LIMIT.has(value.trim().toLowerCase())) delete limits[key]
  else limits[key] = parseByteRate(value, flag)
}

/** `ferry limits set`: writes config `limits` (or `devices[id].limits`); a running daemon applies them at once. */
export async function limitsSetCommand (home: string, o: LimitsSetOptions): Promise<LimitsSetResult> {
  if (o.upload === undefined && o.download === undefined) {
    throw new RateError('nothing to set', 'ERR_FERRY_BAD_RATE', 'give --upload <rate> and/or --download <rate> (like 10MiB; "unlimited" removes a limit)')
  }
  const r = await updateConfig(home, (config: Config) => {
    let device: string | undefined
    let limits: RateLimits
    if (o.device === undefined) limits = config.limits ?? {}
    else {
      device = resolveDeviceRef(config, o.device)
      const d = config.devices[device]
      if (d === undefined) throw new FerryError(`device ${device} is not trusted`, 'ERR_FERRY_DEVICE_NOT_FOUND', '`ferry device add` it first')
      limits = d.limits ?? {}
    }
    applyRate(limits, 'uploadBytesPerSecond', o.upload, '--upload')
    applyRate(limits, 'downloadBytesPerSecond', o.download, '--download')
    if (device === undefined) config.limits = limits
    else config.devices[device]!.limits = limits
    const { uploadBytesPerSecond, downloadBytesPerSecond } = limits
    return { ...(device === undefined ? {} : { device }), limits: { ...(uploadBytesPerSecond === undefined ? {} : { uploadBytesPerSecond }), ...(downloadBytesPerSecond === undefined ? {} : { downloadBytesPerSecond }) } }
  })
  return { ...r, daemonReloaded: await reloadDaemon(home) }
}

export interface LimitsShowResult {
  /** config `limits` (exemptLan with its default filled in) */
  limits: RateLimits & { exemptLan: boolean }
  /** devices with limits of their own: id -> { name?, limits } */
  devices: Record<string, { name?: string } & RateLimits>
  /** present when a daemon runs: what it applies (start flags included) and its current rates */
  running?: LimitsStatus
}

/** `ferry limits show` */
export async function limitsShowCommand (home: string): Promise<LimitsShowResult> {
  const config = await loadConfig(home)
  const devices: LimitsShowResult['devices'] = {}
  for (const [id, d] of Object.entries(config.devices)) {
    if (d.limits === undefined || Object.keys(d.limits).length === 0) continue
    devices[id] = { ...(d.name === undefined ? {} : { name: d.name }), ...d.limits }
  }
  let running: LimitsStatus | undefined
  try {
    const s = await callDaemon<DaemonStatus | { relay: unknown }>(home, 'GET', '/status')
    if ('limits' in s && s.limits !== undefined) running = s.limits
  } catch (err) {
    if (!(err instanceof NoDaemonError)) throw err
  }
  return { limits: { ...config.limits, exemptLan: config.limits?.exemptLan ?? DEFAULT_EXEMPT_LAN }, devices, ...(running === undefined ? {} : { running }) }
}
