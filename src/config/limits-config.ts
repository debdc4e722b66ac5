import type { Config, RateLimits } from './config-types.ts'

/** LAN peers are not limited unless the config says `"exemptLan": false` */
export const DEFAULT_EXEMPT_LAN = true

/** What the daemon limits: its own totals, per device, and whether LAN peers are exempt. */
export interface LimitSettings extends RateLimits {
  exemptLan: boolean
  /** device id -> that device's own limits */
  devices: Record<string, RateLimits>
}

const rates = (r: RateLimits | undefined): RateLimits => ({
  ...(r?.uploadBytesPerSecond === undefined ? {} : { uploadBytesPerSecond: r.uploadBytesPerSecond }),
  ...(r?.downloadBytesPerSecond === undefined ? {} : { downloadBytesPerSecond: r.downloadBytesPerSecond })
})

/** The config's limits, with `overrides` (`ferry start --max-upload/--max-download`) over its totals. */
export function limitSettings (config: Config, overrides: RateLimits = {}): LimitSettings {
  const devices: Record<string, RateLimits> = {}
  for (const [id, d] of Object.entries(config.devices)) {
    const r = rates(d.limits)
    if (Object.keys(r).length > 0) devices[id] = r
  }
  return { ...rates(config.limits), ...rates(overrides), exemptLan: config.limits?.exemptLan ?? DEFAULT_EXEMPT_LAN, devices }
}
