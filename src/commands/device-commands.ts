import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import type { DaemonStatus } from '../daemon/status-types.ts'
import { loadConfig, type Role } from '../config/config.ts'
import { checkTrust, removeDevice, renameDevice, trustDevice, updateConfig, validateDeviceId } from '../config/config-changes.ts'
import { deviceIdOf, loadDeviceKey } from '../identity/device-key.ts'
import { validateDeviceName } from '../text/printable.ts'
import { reloadDaemon } from './reload-daemon.ts'

/** `ferry device add|list|remove|rename`: the trusted devices in config.json. */

export async function deviceAddCommand (home: string, deviceId: string, opts: { addrs: string[], name?: string }): Promise<{ id: string, name?: string, addrs: string[] }> {
  const id = validateDeviceId(deviceId)
  if (opts.name !== undefined) validateDeviceName(opts.name)
  const self = deviceIdOf(await loadDeviceKey(home))
  checkTrust(self, id, opts.addrs)
  const r = await updateConfig(home, config => trustDevice(config, { self, device: id, ...opts }))
  await reloadDaemon(home)
  return r
}

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
  const r = await updateConfig(home, config => removeDevice(config, ref))
  const daemonReloaded = await reloadDaemon(home)
  return { ...r, daemonReloaded }
}

export async function deviceRenameCommand (home: string, ref: string, name: string): Promise<{ id: string, name: string, was?: string }> {
  validateDeviceName(name)
  const r = await updateConfig(home, config => renameDevice(config, ref, name))
  await reloadDaemon(home)
  return r
}
