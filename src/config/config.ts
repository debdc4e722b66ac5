import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FerryError } from '../errors.ts'
import { writeFileAtomic } from './atomic-write.ts'

export type Role = 'owner' | 'read-write' | 'read-only' | 'replica'
export const ROLES: readonly Role[] = ['owner', 'read-write', 'read-only', 'replica']

export interface DeviceConfig {
  name?: string
  /** static multiaddrs to dial, besides what discovery finds */
  addrs: string[]
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
}

export interface Config {
  version: 1
  devices: Record<string, DeviceConfig>
  folders: Record<string, FolderConfig>
}

export const CONFIG_FILE = 'config.json'

export class ConfigError extends FerryError {}

export function emptyConfig (): Config {
  return { version: 1, devices: {}, folders: {} }
}

export async function loadConfig (home: string): Promise<Config> {
  let text: string
  try {
    text = await readFile(join(home, CONFIG_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`no ferry identity in ${home}`, 'ERR_FERRY_NOT_INITIALIZED', 'run `ferry init` first, or pass --home')
    }
    throw err
  }
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch {
    throw new ConfigError(`${join(home, CONFIG_FILE)} is not valid JSON`, 'ERR_FERRY_BAD_CONFIG')
  }
  return checkConfig(parsed, join(home, CONFIG_FILE))
}

function checkConfig (v: unknown, file: string): Config {
  const bad = (why: string): never => { throw new ConfigError(`${file}: ${why}`, 'ERR_FERRY_BAD_CONFIG') }
  if (typeof v !== 'object' || v === null) return bad('not an object')
  const c = v as Partial<Config>
  if (c.version !== 1) bad('unknown version')
  if (typeof c.devices !== 'object' || c.devices === null) bad('devices missing')
  if (typeof c.folders !== 'object' || c.folders === null) bad('folders missing')
  for (const [id, d] of Object.entries(c.devices!)) {
    if (!Array.isArray(d.addrs)) bad(`device ${id}: addrs must be an array`)
  }
  for (const [id, f] of Object.entries(c.folders!)) {
    if (typeof f.path !== 'string') bad(`folder ${id}: path missing`)
    for (const role of Object.values(f.members ?? {})) if (!ROLES.includes(role)) bad(`folder ${id}: bad role ${String(role)}`)
    if (f.retentionDays !== undefined && !(typeof f.retentionDays === 'number' && f.retentionDays >= 0)) bad(`folder ${id}: retentionDays must be a number >= 0`)
    if (f.fsid !== undefined && typeof f.fsid !== 'string') bad(`folder ${id}: fsid must be a string`)
    const dp = f.deleteProtection
    if (dp !== undefined) {
      if (typeof dp !== 'object' || dp === null) bad(`folder ${id}: deleteProtection must be an object`)
      if (dp.enabled !== undefined && typeof dp.enabled !== 'boolean') bad(`folder ${id}: deleteProtection.enabled must be true or false`)
      if (dp.ratio !== undefined && !(typeof dp.ratio === 'number' && dp.ratio >= 0 && dp.ratio <= 1)) bad(`folder ${id}: deleteProtection.ratio must be a number from 0 to 1`)
      for (const k of ['minFiles', 'dirFiles'] as const) {
        if (dp[k] !== undefined && !(Number.isInteger(dp[k]) && dp[k] >= 0)) bad(`folder ${id}: deleteProtection.${k} must be an integer >= 0`)
      }
    }
  }
  return c as Config
}

export async function saveConfig (home: string, config: Config): Promise<void> {
  await writeFileAtomic(join(home, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n', 0o600)
}

/** Folder ids travel in records and protocol ids: keep them boring. */
export function validateFolderId (id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) {
    throw new ConfigError(`invalid folder id ${JSON.stringify(id)}`, 'ERR_FERRY_BAD_FOLDER_ID', 'use 1-64 letters, digits, ".", "_" or "-"')
  }
  return id
}
