import type { FolderListEntry } from '../commands/folder-commands.ts'
import type { DeviceListEntry } from '../commands/device-commands.ts'
import type { UnshareResult } from '../commands/sharing-commands.ts'
import { printable as p } from '../text/printable.ts'
export { formatStatus } from './format-status.ts'

export function formatFolders (list: FolderListEntry[]): string {
  if (list.length === 0) return 'no folders (add one with `ferry folder add <path> --id <id>`)'
  return list.map(f => {
    const members = Object.entries(f.members).map(([d, r]) => `    ${p(d)} ${p(r)}`)
    return [`${p(f.id)} ${p(f.path)}${f.paused === true ? ' (paused)' : ''}`, ...members].join('\n')
  }).join('\n')
}

export function formatDevices (list: DeviceListEntry[]): string {
  if (list.length === 0) return 'no trusted devices (add one with `ferry device add <deviceId>` or `ferry join`)'
  return list.map(d => {
    const state = d.connected === undefined ? '' : d.connected ? ' connected' : ' disconnected'
    const folders = Object.entries(d.folders).map(([f, r]) => `${p(f)} (${p(r)})`).join(', ')
    return [`${p(d.name ?? '(no name)')} ${p(d.id)}${state}`, ...d.addrs.map(a => `    at ${p(a)}`), ...(folders === '' ? [] : [`    shares ${folders}`])].join('\n')
  }).join('\n')
}

export function formatUnshare (r: UnshareResult): string {
  const who = r.name === undefined ? p(r.device) : `${p(r.device)} (${p(r.name)})`
  const line = `folder ${p(r.folder)} no longer shared with ${who}`
  if (!r.trusted) return `${line}; the device is no longer trusted`
  const others = r.otherFolders.length === 0 ? '' : ` and still shares ${r.otherFolders.map(f => p(f)).join(', ')}`
  return `${line}\nthe device is still trusted${others}: \`ferry device remove ${p(r.name ?? r.device)}\` stops trusting it (or unshare with --untrust)`
}
