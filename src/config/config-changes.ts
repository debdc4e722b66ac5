import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { FerryError } from '../errors.ts'
import { validateDeviceName } from '../text/printable.ts'
import { loadConfig, saveConfig } from './config.ts'
import type { Config, FolderConfig, Role } from './config-types.ts'
import { resolveDeviceRef } from './device-ref.ts'

/**
 * Every change to config.json: each function checks its arguments against the config it is
 * given, changes it in place, and returns what it did; it throws a FerryError (config unchanged)
 * when the change does not apply. `updateConfig` reads, changes and writes the file.
 */

/** Reads config.json, applies `change`, and writes it back (not when `change` throws). */
export async function updateConfig<T> (home: string, change: (config: Config) => T | Promise<T>): Promise<T> {
  const config = await loadConfig(home)
  const result = await change(config)
  await saveConfig(home, config)
  return result
}

export function validateDeviceId (id: string): string {
  try {
    const peer = peerIdFromString(id)
    if (peer.type !== 'Ed25519') throw new Error('not Ed25519')
    return peer.toString()
  } catch {
    throw new FerryError(`invalid device id ${JSON.stringify(id)}`, 'ERR_FERRY_BAD_DEVICE_ID', 'device ids look like 12D3KooW…; `ferry id` prints one')
  }
}

export function folderIn (config: Config, id: string): FolderConfig {
  const folder = config.folders[id]
  if (folder === undefined) throw new FerryError(`no folder ${id}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
  return folder
}

/** a new folder (its path already checked: checkNewFolder) with no members yet */
export function addFolder (config: Config, id: string, folder: { path: string, fsid: string }): void {
  config.folders[id] = { path: folder.path, members: {}, fsid: folder.fsid }
}

export function removeFolder (config: Config, id: string): { path: string } {
  const { path } = folderIn(config, id)
  config.folders = Object.fromEntries(Object.entries(config.folders).filter(([f]) => f !== id))
  return { path }
}

export function setFolderPaused (config: Config, id: string, paused: boolean): void {
  const folder = folderIn(config, id)
  if (paused) folder.paused = true
  else delete folder.paused
}

/** a folder from before file system ids gets its own recorded, once; false: nothing changed */
export function recordFolderFsid (config: Config, id: string, fsid: string): boolean {
  const fc = config.folders[id]
  if (fc === undefined || fc.fsid !== undefined) return false
  fc.fsid = fsid
  return true
}

/** `ferry device add`: trusts a device (addresses are added to those it had; a name replaces its name). */
export function trustDevice (config: Config, opts: { self: string, device: string, addrs: string[], name?: string }): { id: string, name?: string, addrs: string[] } {
  const id = validateDeviceId(opts.device)
  if (opts.name !== undefined) validateDeviceName(opts.name)
  checkTrust(opts.self, id, opts.addrs)
  const existing = config.devices[id]
  const addrs = [...new Set([...(existing?.addrs ?? []), ...opts.addrs])]
  const name = opts.name ?? existing?.name
  config.devices[id] = name === undefined ? { addrs } : { name, addrs }
  return { id, ...(name === undefined ? {} : { name }), addrs }
}

/** throws unless `id` is another device and `addrs` are multiaddrs that name no other device */
export function checkTrust (self: string, id: string, addrs: readonly string[]): void {
  if (id === self) throw new FerryError('that is this device\'s own id', 'ERR_FERRY_SELF')
  for (const a of addrs) {
    try { multiaddr(a) } catch {
      throw new FerryError(`invalid multiaddr ${JSON.stringify(a)}`, 'ERR_FERRY_BAD_ADDR', 'e.g. /ip4/192.168.1.5/tcp/4001')
    }
    if (a.includes('/p2p/') && !a.endsWith(`/p2p/${id}`)) throw new FerryError(`address ${a} names another device`, 'ERR_FERRY_BAD_ADDR')
  }
}

/** Untrusts a device: it leaves `devices` and every folder's members. */
export function removeDevice (config: Config, ref: string): { id: string, name?: string, folders: string[] } {
  const id = resolveDeviceRef(config, ref)
  const device = config.devices[id]
  const folders = Object.entries(config.folders).filter(([, f]) => f.members[id] !== undefined).map(([f]) => f)
  if (device === undefined && folders.length === 0) throw new FerryError(`device ${id} is not trusted`, 'ERR_FERRY_DEVICE_NOT_FOUND', '`ferry device list` shows the trusted devices')
  config.devices = Object.fromEntries(Object.entries(config.devices).filter(([d]) => d !== id))
  for (const f of folders) {
    const fc = config.folders[f]!
    fc.members = Object.fromEntries(Object.entries(fc.members).filter(([d]) => d !== id))
  }
  return { id, ...(device?.name === undefined ? {} : { name: device.name }), folders }
}

export function renameDevice (config: Config, ref: string, name: string): { id: string, name: string, was?: string } {
  validateDeviceName(name)
  const id = resolveDeviceRef(config, ref)
  const device = config.devices[id]
  if (device === undefined) throw new FerryError(`device ${id} is not trusted`, 'ERR_FERRY_DEVICE_NOT_FOUND', '`ferry device list` shows the trusted devices')
  const taken = Object.entries(config.devices).find(([d, dc]) => d !== id && dc.name === name)
  if (taken !== undefined) throw new FerryError(`another device is already called ${JSON.stringify(name)} (${taken[0]})`, 'ERR_FERRY_NAME_TAKEN', 'names must tell devices apart; pick another')
  const was = device.name
  device.name = name
  return { id, name, ...(was === undefined ? {} : { was }) }
}

/** `ferry share`: a trusted device becomes a member of a folder, with a role. */
export function shareFolder (config: Config, opts: { folder: string, device: string, readOnly: boolean, replica?: boolean }): { folder: string, device: string, role: Role } {
  const folderId = opts.folder
  const id = validateDeviceId(resolveDeviceRef(config, opts.device))
  const folder = config.folders[folderId]
  if (folder === undefined) throw new FerryError(`no folder ${folderId}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
  if (config.devices[id] === undefined) throw new FerryError(`device ${id} is not trusted yet`, 'ERR_FERRY_DEVICE_NOT_FOUND', `run \`ferry device add ${id}\` first`)
  if (opts.readOnly && opts.replica === true) throw new FerryError('--read-only and --replica exclude each other', 'ERR_FERRY_USAGE')
  // a replica (a relay) stores and serves the folder; its own records are never accepted
  const role: Role = opts.replica === true ? 'replica' : opts.readOnly ? 'read-only' : 'read-write'
  folder.members[id] = role
  return { folder: folderId, device: id, role }
}

/** `ferry unshare`: a member leaves a folder. */
export function unshareFolder (config: Config, folderId: string, deviceRef: string): { folder: string, device: string } {
  const id = validateDeviceId(resolveDeviceRef(config, deviceRef))
  const folder = config.folders[folderId]
  if (folder === undefined) throw new FerryError(`no folder ${folderId}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
  if (folder.members[id] === undefined) throw new FerryError(`${id} is not a member of folder ${folderId}`, 'ERR_FERRY_NOT_MEMBER', 'run `ferry folder list`')
  folder.members = Object.fromEntries(Object.entries(folder.members).filter(([d]) => d !== id))
  return { folder: folderId, device: id }
}

/** `ferry join` succeeded: the inviter becomes a trusted device and the folder's owner member. */
export function recordJoin (config: Config, join: { folder: string, path: string, fsid: string, inviter: string, inviterAddrs: string[], role: Role, name?: string }): void {
  const known = config.devices[join.inviter]
  const name = join.name ?? known?.name
  config.devices[join.inviter] = { ...(name === undefined ? {} : { name }), addrs: [...new Set([...(known?.addrs ?? []), ...join.inviterAddrs])] }
  config.folders[join.folder] = { path: join.path, members: { [join.inviter]: 'owner' }, ...(join.role === 'read-only' ? { role: join.role } : {}), fsid: join.fsid }
}

/**
 * An invitation was redeemed: the joiner becomes a trusted device and a member with the
 * invitation's role. Addresses naming another device are not taken (a joiner cannot redirect
 * us to someone else). A device without a name here gets `defaultDeviceName` (`ferry device
 * rename` changes it).
 */
export function admitJoiner (config: Config, joiner: { device: string, folder: string, role: Role, addrs: string[] }): { name: string } {
  const folder = config.folders[joiner.folder]
  if (folder === undefined) throw new FerryError(`folder ${joiner.folder} is not shared from here any more`, 'ERR_FERRY_FOLDER_NOT_FOUND')
  const peer = joiner.device
  const known = config.devices[peer]
  const addrs = joiner.addrs.filter(a => !a.includes('/p2p/') || a.endsWith(`/p2p/${peer}`))
  // the join request carries no name: a new device is named after its id until renamed
  const name = known?.name ?? defaultDeviceName(peer)
  config.devices[peer] = { ...known, name, addrs: [...new Set([...(known?.addrs ?? []), ...addrs])] }
  folder.members[peer] = joiner.role
  return { name }
}

/** the name a device that joined gets on the inviter: `device-` and the last 7 characters of its id */
export function defaultDeviceName (device: string): string {
  return `device-${device.slice(-7)}`
}
