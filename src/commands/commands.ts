import { securePrivateDir } from '../config/private-dir.ts'
import { validateDeviceName } from '../text/printable.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { emptyConfig, loadConfig, saveConfig, validateFolderId, type Config, type Role } from '../config/config.ts'
import { createDeviceKey, deviceIdOf, loadDeviceKey } from '../identity/device-key.ts'
import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import type { DaemonStatus } from '../daemon/status-types.ts'
import type { RelayStatus } from '../../relay/relay-status.ts'
import { FerryError } from '../errors.ts'
import { checkNewFolder } from '../config/folder-path-check.ts'
import { resolveDeviceRef } from '../config/device-ref.ts'
import { initFolderRoot } from '../sync/folder-health.ts'

/** Command handlers return data; main.ts prints it (text or --json). */

export async function initCommand (home: string): Promise<{ deviceId: string, home: string, tightenedFrom?: string }> {
  const tightened = await securePrivateDir(home)
  const key = await createDeviceKey(home)
  await saveConfig(home, emptyConfig())
  return { deviceId: deviceIdOf(key), home, ...(tightened === undefined ? {} : { tightenedFrom: tightened }) }
}

export async function idCommand (home: string): Promise<{ deviceId: string }> {
  return { deviceId: deviceIdOf(await loadDeviceKey(home)) }
}

/** Saves the config and tells a running daemon to pick it up. */
export async function commit (home: string, config: Config): Promise<{ daemonReloaded: boolean }> {
  await saveConfig(home, config)
  try {
    await callDaemon(home, 'POST', '/reload')
    return { daemonReloaded: true }
  } catch (err) {
    if (err instanceof NoDaemonError) return { daemonReloaded: false }
    throw err
  }
}

export async function folderAddCommand (home: string, path: string, id: string): Promise<{ id: string, path: string }> {
  validateFolderId(id)
  await loadDeviceKey(home)
  const config = await loadConfig(home)
  // the real path (symlinks resolved): what is recorded, created and later compared
  const real = await checkNewFolder(config, id, path, home)
  // the marker and file system id let the daemon tell this directory from an unmounted disk
  const fsid = await initFolderRoot(real, id)
  config.folders[id] = { path: real, members: {}, fsid }
  await commit(home, config)
  return { id, path: real }
}

export interface FolderListEntry { id: string, path: string, members: Record<string, Role>, paused?: true }

export async function folderListCommand (home: string): Promise<FolderListEntry[]> {
  const config = await loadConfig(home)
  return Object.entries(config.folders).map(([id, f]) => ({ id, path: f.path, members: f.members, ...(f.paused === true ? { paused: true as const } : {}) }))
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

export async function deviceAddCommand (home: string, deviceId: string, opts: { addrs: string[], name?: string }): Promise<{ id: string, name?: string, addrs: string[] }> {
  const id = validateDeviceId(deviceId)
  if (opts.name !== undefined) validateDeviceName(opts.name)
  const self = deviceIdOf(await loadDeviceKey(home))
  if (id === self) throw new FerryError('that is this device\'s own id', 'ERR_FERRY_SELF')
  for (const a of opts.addrs) {
    try { multiaddr(a) } catch {
      throw new FerryError(`invalid multiaddr ${JSON.stringify(a)}`, 'ERR_FERRY_BAD_ADDR', 'e.g. /ip4/192.168.1.5/tcp/4001')
    }
    if (a.includes('/p2p/') && !a.endsWith(`/p2p/${id}`)) throw new FerryError(`address ${a} names another device`, 'ERR_FERRY_BAD_ADDR')
  }
  const config = await loadConfig(home)
  const existing = config.devices[id]
  const addrs = [...new Set([...(existing?.addrs ?? []), ...opts.addrs])]
  const name = opts.name ?? existing?.name
  config.devices[id] = name === undefined ? { addrs } : { name, addrs }
  await commit(home, config)
  return { id, ...(name === undefined ? {} : { name }), addrs }
}

export async function shareCommand (home: string, folderId: string, deviceId: string, opts: { readOnly: boolean, replica?: boolean }): Promise<{ folder: string, device: string, role: Role }> {
  const config = await loadConfig(home)
  const id = validateDeviceId(resolveDeviceRef(config, deviceId))
  const folder = config.folders[folderId]
  if (folder === undefined) throw new FerryError(`no folder ${folderId}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
  if (config.devices[id] === undefined) throw new FerryError(`device ${id} is not trusted yet`, 'ERR_FERRY_DEVICE_NOT_FOUND', `run \`ferry device add ${id}\` first`)
  if (opts.readOnly && opts.replica === true) throw new FerryError('--read-only and --replica exclude each other', 'ERR_FERRY_USAGE')
  // a replica (a relay) stores and serves the folder; its own records are never accepted
  const role: Role = opts.replica === true ? 'replica' : opts.readOnly ? 'read-only' : 'read-write'
  folder.members[id] = role
  await commit(home, config)
  return { folder: folderId, device: id, role }
}

/**
 * Removes a member from a folder. A running daemon reloads: it hangs up on that device at once
 * (its streams were opened as a member), and from then on serves it nothing of the folder and
 * takes none of its changes.
 */
export async function unshareCommand (home: string, folderId: string, deviceId: string): Promise<{ folder: string, device: string, daemonReloaded: boolean }> {
  const config = await loadConfig(home)
  const id = validateDeviceId(resolveDeviceRef(config, deviceId))
  const folder = config.folders[folderId]
  if (folder === undefined) throw new FerryError(`no folder ${folderId}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
  if (folder.members[id] === undefined) throw new FerryError(`${id} is not a member of folder ${folderId}`, 'ERR_FERRY_NOT_MEMBER', 'run `ferry folder list`')
  folder.members = Object.fromEntries(Object.entries(folder.members).filter(([d]) => d !== id))
  const { daemonReloaded } = await commit(home, config)
  return { folder: folderId, device: id, daemonReloaded }
}

export async function statusCommand (home: string): Promise<DaemonStatus | RelayStatus> {
  return await callDaemon<DaemonStatus | RelayStatus>(home, 'GET', '/status')
}

/** `ferry folder confirm-deletes <folderId>`: the deletes mass-delete protection holds are recorded. */
export async function confirmDeletesCommand (home: string, folder: string): Promise<{ folder: string, confirmed: number }> {
  return await callDaemon(home, 'POST', '/confirm-deletes', 60_000, { folder })
}
