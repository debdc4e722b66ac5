/** The shape of config.json (checked by check-config.ts, read and written by config.ts). */

export type Role = 'owner' | 'read-write' | 'read-only' | 'replica'

/** bytes per second of block traffic; absent: unlimited */
export interface RateLimits {
  uploadBytesPerSecond?: number
  downloadBytesPerSecond?: number
}

export interface DeviceConfig {
  name?: string
  /** static multiaddrs to dial, besides what discovery finds */
  addrs: string[]
  /** block traffic with this device only (on top of the daemon-wide `limits`) */
  limits?: RateLimits
}

export interface FolderConfig {
  /** absolute path of the synced directory */
  path: string
  /** device id -> role; this device is always a member */
  members: Record<string, Role>
  /** this device's own role, as granted when it joined (absent: owner) */
  role?: Role
  /** days the local trash and superseded records are kept (default 14) */
  retentionDays?: number
  /**
   * file system id (st_dev) of the root when the folder was added: on another file system the
   * folder stops (an unmounted disk). Absent for folders from before it; recorded on start.
   */
  fsid?: string
  /** mass-delete protection (defaults: enabled, ratio 0.5, minFiles 10, dirFiles 100) */
  deleteProtection?: { enabled?: boolean, ratio?: number, minFiles?: number, dirFiles?: number }
  /** `ferry folder pause`: the daemon does not sync the folder until `ferry folder resume` */
  paused?: boolean
}

export interface Config {
  version: 1
  devices: Record<string, DeviceConfig>
  folders: Record<string, FolderConfig>
  /** daemon-wide limits on block traffic; `exemptLan` (default true): peers on the LAN are not limited */
  limits?: RateLimits & { exemptLan?: boolean }
}
