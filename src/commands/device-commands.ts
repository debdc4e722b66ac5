import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import type { DaemonStatus } from '../daemon/status-types.ts'
import { loadConfig, type Role } from '../config/config.ts'
import { resolveDeviceRef } from '../config/device-ref.ts'
import { FerryError } from '../errors.ts'
import { commit } from './commands.ts'
import { validateDeviceName } from '../text/printable.ts'

/** `ferry device list|remove|rename`: the trusted devices in config.json. */

export interface DeviceListEntry {
  id: string
  name?: string
  addrs: string[]
  trusted: true
  /** folder id -> the device's role there */
  folders: Record<string, Role>
  /** present when a daemon runs: whether it is connected to the device now */
  connected?: boolean
}

async function daemonStatus (home: string): Promise<DaemonStatus | undefined> {
  try {
    const s = await callDaemon<DaemonStatus | { relay: unknown }>(home, 'GET', '/status')
    return 'peers' in s ? s : undefined
  } catch (err) {
    if (err instanceof NoDaemonError) return undefined
    throw err
  }
}

export async function deviceListCommand (home: string): Promise<DeviceListEntry[]> {
  const config = await loadConfig(home)
  const status = await daemonStatus(home)
  return Object.entries(config.devices).map(([id, d]) => {
    const folders = Object.fromEntries(Object.entries(config.folders).flatMap(([f, fc]) => fc.members[id] === undefined ? [] : [[f, fc.members[id]]]))
    const peer = status?.peers.find(p => p.id === id)
    return { id, ...(d.name === undefined ? {} : { name: d.name }), addrs: d.addrs, trusted: true as const, folders, ...(status === undefined ? {} : { connected: peer?.connected ?? false }) }
  })
}

/**
 * Untrusts a device: it leaves config `devices` and every folder's members. A running daemon
 * reloads and hangs up on it (its streams were opened as a trusted member); from then on its
 * connections are refused.
 */
export async function deviceRemoveCommand (home: string, ref: string): Promise<{ id: string, name?: string, folders: string[], daemonReloaded: boolean }> {
  const config = await loadConfig(home)
  const id = resolveDeviceRef(config, ref)
  const device = config.devices[id]
  const folders = Object.entries(config.folders).filter(([, f]) => f.members[id] !== undefined).map(([f]) => f)
  if (device === undefined && folders.length === 0) throw new FerryError(`device ${id} is not trusted`, 'ERR_FERRY_DEVICE_NOT_FOUND', '`ferry device list` shows the trusted devices')
  config.devices = Object.fromEntries(Object.entries(config.devices).filter(([d]) => d !== id))
  for (const f of folders) {
    const fc = config.folders[f]!
    fc.members = Object.fromEntries(Object.entries(fc.members).filter(([d]) => d !== id))
  }
  const { daemonReloaded } = await commit(home, config)
  return { id, ...(device?.name === undefined ? {} : { name: device.name }), folders, daemonReloaded }
}

export async function deviceRenameCommand (home: string, ref: string, name: string): Promise<{ id: string, name: string, was?: string }> {
  validateDeviceName(name)
  const config = await loadConfig(home)
  const id = resolveDeviceRef(config, ref)
  const device = config.devices[id]
  if (device === undefined) throw new FerryError(`device ${id} is not trusted`, 'ERR_FERRY_DEVICE_NOT_FOUND', '`ferry device list` shows the trusted devices')
  const taken = Object.entries(config.devices).find(([d, dc]) => d !== id && dc.name === name)
  if (taken !== undefined) throw new FerryError(`another device is already called ${JSON.stringify(name)} (${taken[0]})`, 'ERR_FERRY_NAME_TAKEN', 'names must tell devices apart; pick another')
  const was = device.name
  device.name = name
  await commit(home, config)
  return { id, name, ...(was === undefined ? {} : { was }) }
}
