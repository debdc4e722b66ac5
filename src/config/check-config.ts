import { isAbsolute } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { FerryError } from '../errors.ts'
import type { Config, DeviceConfig, FolderConfig, RateLimits, Role } from './config-types.ts'
import { checkByteRate } from './byte-rate.ts'

export const ROLES: readonly Role[] = ['owner', 'read-write', 'read-only', 'replica']
/** folder ids travel in records and protocol ids: 1-64 letters, digits, ".", "_" or "-" */
export const FOLDER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
export const MAX_ADDR_CHARS = 1024
export const MAX_NAME_CHARS = 256

export class ConfigError extends FerryError {}

/** What `checkConfig` kept, and one line per entry or field it left out. */
export interface CheckedConfig { config: Config, skipped: string[] }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** the peer id `s` names, if it is one (a device id) */
export function isDeviceId (s: unknown): s is string {
  if (typeof s !== 'string' || s.length === 0 || s.length > 128) return false
  try { peerIdFromString(s); return true } catch { return false }
}

export function isMultiaddr (s: unknown, maxChars = MAX_ADDR_CHARS): s is string {
  if (typeof s !== 'string' || s.length === 0 || s.length > maxChars) return false
  try { multiaddr(s); return true } catch { return false }
}

const show = (v: unknown): string => {
  let s: string
  try { s = JSON.stringify(v) ?? String(v) } catch { s = String(v) }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/**
 * Checks a parsed config.json. A file that is unusable as a whole (not an object, unknown
 * version, no devices or folders object) throws ConfigError; a bad entry is left out and named
 * in `skipped`, so one typo does not stop the daemon: a device whose id is not a peer id, an
 * address that does not parse, a folder whose id, path or own role is bad, a member whose id or
 * role is bad. Fields it does not know are kept as they are.
 */
export function checkConfig (v: unknown, file: string): CheckedConfig {
  const bad = (why: string): never => { throw new ConfigError(`${file}: ${why}`, 'ERR_FERRY_BAD_CONFIG', 'fix the file by hand, or move it away and run `ferry init`') }
  if (!isObject(v)) return bad('not a JSON object')
  if (v.version !== 1) bad(`unknown version ${show(v.version)}`)
  if (!isObject(v.devices)) bad('"devices" must be an object')
  if (!isObject(v.folders)) bad('"folders" must be an object')
  const skipped: string[] = []
  const devices: Record<string, DeviceConfig> = {}
  for (const [id, d] of Object.entries(v.devices as Record<string, unknown>)) {
    const device = checkDevice(id, d, skipped)
    if (device !== undefined) devices[id] = device
  }
  const folders: Record<string, FolderConfig> = {}
  for (const [id, f] of Object.entries(v.folders as Record<string, unknown>)) {
    const folder = checkFolder(id, f, skipped)
    if (folder !== undefined) folders[id] = folder
  }
  const out: Config = { ...v, version: 1, devices, folders }
  if (v.limits !== undefined) {
    const limits = checkRates('limits', v.limits, skipped)
    if (limits !== undefined && isObject(v.limits) && v.limits.exemptLan !== undefined) {
      if (typeof v.limits.exemptLan === 'boolean') limits.exemptLan = v.limits.exemptLan
      else skipped.push(`limits.exemptLan ${show(v.limits.exemptLan)}: not true or false (LAN peers stay exempt)`)
    }
    if (limits === undefined) delete out.limits
    else out.limits = limits
  }
  return { config: out, skipped }
}

/** upload/download bytes per second: a bad one is left out (that direction is unlimited) and named */
function checkRates (where: string, v: unknown, skipped: string[]): (RateLimits & { exemptLan?: boolean }) | undefined {
  if (!isObject(v)) { skipped.push(`${where} ${show(v)}: not an object`); return undefined }
  const { uploadBytesPerSecond, downloadBytesPerSecond, exemptLan: _, ...rest } = v
  const out: RateLimits = { ...rest }
  for (const [k, r] of [['uploadBytesPerSecond', uploadBytesPerSecond], ['downloadBytesPerSecond', downloadBytesPerSecond]] as const) {
    if (r === undefined) continue
    try { out[k] = checkByteRate(r as number, `${where}.${k}`) } catch (err) { skipped.push(`${(err as Error).message} (no limit applies)`) }
  }
  return out
}

function checkDevice (id: string, d: unknown, skipped: string[]): DeviceConfig | undefined {
  if (!isDeviceId(id)) { skipped.push(`device ${show(id)}: not a device id`); return undefined }
  if (!isObject(d)) { skipped.push(`device ${id}: not an object`); return undefined }
  const { name, addrs, limits, ...rest } = d
  const out: DeviceConfig = { ...rest, addrs: [] }
  if (limits !== undefined) {
    const checked = checkRates(`device ${id}: limits`, limits, skipped)
    if (checked !== undefined) out.limits = checked
  }
  if (name !== undefined) {
    if (typeof name === 'string' && name.length <= MAX_NAME_CHARS) out.name = name
    else skipped.push(`device ${id}: name ${show(name)}: not a string of at most ${MAX_NAME_CHARS} chars`)
  }
  if (addrs !== undefined && !Array.isArray(addrs)) skipped.push(`device ${id}: addrs ${show(addrs)}: not an array`)
  for (const a of Array.isArray(addrs) ? addrs as unknown[] : []) {
    if (isMultiaddr(a)) out.addrs.push(a)
    else skipped.push(`device ${id}: address ${show(a)}: not a multiaddr`)
  }
  return out
}

function checkFolder (id: string, f: unknown, skipped: string[]): FolderConfig | undefined {
  const skip = (why: string): undefined => { skipped.push(`folder ${show(id)}: ${why}`); return undefined }
  if (!FOLDER_ID_PATTERN.test(id)) return skip('not a valid folder id')
  if (!isObject(f)) return skip('not an object')
  const { path, members, role, retentionDays, ...rest } = f
  if (typeof path !== 'string' || !isAbsolute(path)) return skip(`path ${show(path)}: not an absolute path`)
  if (role !== undefined && !ROLES.includes(role as Role)) return skip(`own role ${show(role)}: not one of ${ROLES.join(', ')}`)
  if (members !== undefined && !isObject(members)) return skip(`members ${show(members)}: not an object`)
  const out: FolderConfig = { ...rest, path, members: {} }
  if (role !== undefined) out.role = role as Role
  for (const [device, r] of Object.entries(members ?? {})) {
    if (!isDeviceId(device)) skipped.push(`folder ${id}: member ${show(device)}: not a device id`)
    else if (!ROLES.includes(r as Role)) skipped.push(`folder ${id}: member ${device}: role ${show(r)}: not one of ${ROLES.join(', ')}`)
    else out.members[device] = r as Role
  }
  if (retentionDays !== undefined) {
    if (typeof retentionDays === 'number' && Number.isFinite(retentionDays) && retentionDays >= 0) out.retentionDays = retentionDays
    else skipped.push(`folder ${id}: retentionDays ${show(retentionDays)}: not a number >= 0 (the default applies)`)
  }
  if (out.fsid !== undefined && typeof out.fsid !== 'string') return skip(`fsid ${show(out.fsid)}: not a string`)
  if (out.paused !== undefined && typeof out.paused !== 'boolean') return skip(`paused ${show(out.paused)}: not true or false`)
  const dp = out.deleteProtection as unknown
  if (dp !== undefined) {
    // a bad setting must not switch protection off: the folder is skipped until it is fixed
    if (!isObject(dp)) return skip(`deleteProtection ${show(dp)}: not an object`)
    if (dp.enabled !== undefined && typeof dp.enabled !== 'boolean') return skip('deleteProtection.enabled must be true or false')
    if (dp.ratio !== undefined && !(typeof dp.ratio === 'number' && dp.ratio >= 0 && dp.ratio <= 1)) return skip('deleteProtection.ratio must be a number from 0 to 1')
    for (const k of ['minFiles', 'dirFiles'] as const) {
      if (dp[k] !== undefined && !(Number.isInteger(dp[k]) && (dp[k] as number) >= 0)) return skip(`deleteProtection.${k} must be an integer >= 0`)
    }
  }
  return out
}
