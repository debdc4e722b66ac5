import type { DaemonStatus } from '../daemon/status-types.ts'
import { formatBytes } from './format-bytes.ts'
import type { FolderListEntry } from '../commands/folder-commands.ts'
import type { DeviceListEntry } from '../commands/device-commands.ts'
import { printable as p } from '../text/printable.ts'
import { describeTransfer } from './progress-view.ts'
import { printablePath } from '../sync/path-errors.ts'

export function formatStatus (s: DaemonStatus): string {
  const lines = [`device ${p(s.deviceId)}`]
  for (const a of s.listenAddrs) lines.push(`  listening ${p(a)}`)
  lines.push(`peers (${s.peers.filter(p => p.connected).length}/${s.peers.length} connected)`)
  for (const peer of s.peers) lines.push(`  ${peer.connected ? 'connected   ' : 'disconnected'} ${p(peer.name ?? '')} ${p(peer.id)}${peer.path === undefined ? '' : ` ${peer.path} (${peer.transport ?? '?'})`}`.replace(/ {2,}/g, ' ').replace(/^ /, '  '))
  lines.push('folders')
  for (const f of s.folders) {
    if (f.paused === true) { lines.push(`  ${p(f.id)} ${p(f.path)}: paused (\`ferry folder resume ${p(f.id)}\` syncs it again)`); continue }
    const state = f.stopped !== undefined ? 'STOPPED' : f.inSync ? 'in sync' : f.needFiles > 0 ? `syncing: need ${f.needFiles} items, ${formatBytes(f.needBytes)}` : f.scanning ? 'scanning' : 'syncing'
    lines.push(`  ${p(f.id)} ${p(f.path)}: ${state} (${f.localFiles} files, ${formatBytes(f.localBytes)})`)
    if (f.stopped !== undefined) lines.push(`    stopped since ${new Date(f.stopped.since).toISOString()}: ${p(f.stopped.reason)}`)
    if (f.heldDeletes !== undefined) lines.push(`    holding ${f.heldDeletes.count} deletes (${p(f.heldDeletes.reason)}): \`ferry folder confirm-deletes ${p(f.id)}\` records them, \`ferry revert ${p(f.id)}\` brings the files back`)
    if (f.role === 'read-only') lines.push(`    read-only: ${f.localChanges ?? 0} local change${f.localChanges === 1 ? '' : 's'} not accepted by others${(f.localChanges ?? 0) > 0 ? ` (\`ferry revert ${p(f.id)}\` discards them)` : ''}`)
    if (f.replicaInSync !== undefined) lines.push(`    replica: ${f.replicaInSync ? 'holds everything' : 'behind or unreachable'}`)
    for (const t of f.transfers) lines.push(`    receiving ${describeTransfer(t)}`)
    lines.push(...formatPathErrors(f))
  }
  return lines.join('\n')
}

export function formatFolders (list: FolderListEntry[]): string {
  if (list.length === 0) return 'no folders (add one with `ferry folder add <path> --id <id>`)'
  return list.map(f => {
    const members = Object.entries(f.members).map(([d, r]) => `    ${p(d)} ${p(r)}`)
    return [`${p(f.id)} ${p(f.path)}${f.paused === true ? ' (paused)' : ''}`, ...members].join('\n')
  }).join('\n')
}

/** how many paths shown with their problem in the text status (--json lists up to 1000) */
const SHOWN_PATH_ERRORS = 5

function formatPathErrors (f: { errors?: Array<{ path: string, reason: string }>, errorCount?: number }): string[] {
  const errors = f.errors ?? []
  const count = Math.max(f.errorCount ?? 0, errors.length)
  if (count === 0) return []
  const lines = [`    ${count} path${count === 1 ? '' : 's'} not synced because of an error:`]
  for (const e of errors.slice(0, SHOWN_PATH_ERRORS)) lines.push(`      ${printablePath(e.path)}: ${e.reason}`)
  if (count > SHOWN_PATH_ERRORS) lines.push(`      ... and ${count - SHOWN_PATH_ERRORS} more (ferry status --json lists them)`)
  return lines
}

export function formatDevices (list: DeviceListEntry[]): string {
  if (list.length === 0) return 'no trusted devices (add one with `ferry device add <deviceId>` or `ferry join`)'
  return list.map(d => {
    const state = d.connected === undefined ? '' : d.connected ? ' connected' : ' disconnected'
    const folders = Object.entries(d.folders).map(([f, r]) => `${p(f)} (${p(r)})`).join(', ')
    return [`${p(d.name ?? '(no name)')} ${p(d.id)}${state}`, ...d.addrs.map(a => `    at ${p(a)}`), ...(folders === '' ? [] : [`    shares ${folders}`])].join('\n')
  }).join('\n')
}
