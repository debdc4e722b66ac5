import type { Config } from '../config/config.ts'
import { conflictLabel } from '../sync/conflict-name.ts'
import type { DeviceLabel } from '../sync/planner.ts'
import type { FolderEvent } from '../events/event-catalog.ts'

/**
 * How this daemon's conflict copies name a device: by its name in the config, else (this device
 * itself included: it has no name of its own there) by the last 7 characters of its id.
 */
export function deviceLabels (config: () => Config): DeviceLabel {
  return device => conflictLabel(device, config().devices[device]?.name)
}

/** a conflict event with the devices' names from the config added (others pass unchanged) */
export function withDeviceNames (e: FolderEvent, config: Config): FolderEvent {
  if (e.type !== 'conflict') return e
  const winnerName = config.devices[e.detail.winner]?.name
  const keptName = config.devices[e.detail.kept]?.name
  return { type: 'conflict', detail: { ...e.detail, ...(winnerName === undefined ? {} : { winnerName }), ...(keptName === undefined ? {} : { keptName }) } }
}
