import { securePrivateDir } from '../config/private-dir.ts'
import { emptyConfig, saveConfig } from '../config/config.ts'
import { createDeviceKey, deviceIdOf, loadDeviceKey } from '../identity/device-key.ts'
import { callDaemon } from '../control/control-client.ts'
import type { DaemonStatus } from '../daemon/status-types.ts'
import type { RelayStatus } from '../../relay/relay-status.ts'

/**
 * Command handlers (src/commands/) return data; src/cli/ parses the arguments and prints the
 * data (text or --json). These: `ferry init`, `ferry id`, `ferry status`.
 */

export async function initCommand (home: string): Promise<{ deviceId: string, home: string, tightenedFrom?: string }> {
  const tightened = await securePrivateDir(home)
  const key = await createDeviceKey(home)
  await saveConfig(home, emptyConfig())
  return { deviceId: deviceIdOf(key), home, ...(tightened === undefined ? {} : { tightenedFrom: tightened }) }
}

export async function idCommand (home: string): Promise<{ deviceId: string }> {
  return { deviceId: deviceIdOf(await loadDeviceKey(home)) }
}

export async function statusCommand (home: string): Promise<DaemonStatus | RelayStatus> {
  return await callDaemon<DaemonStatus | RelayStatus>(home, 'GET', '/status')
}
