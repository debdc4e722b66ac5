import type { DaemonStatus } from '../daemon/daemon.ts'
import { formatBytes } from './format-bytes.ts'
import type { FolderListEntry } from './commands.ts'
import { printable as p } from './printable.ts'
import { describeTransfer } from './progress-view.ts'

export function formatStatus (s: DaemonStatus): string {
  const lines = [`device ${p(s.deviceId)}`]
  for (const a of s.listenAddrs) lines.push(`  listening ${p(a)}`)
  lines.push(`peers (${s.peers.filter(p => p.connected).length}/${s.peers.length} connected)`)
  for (const peer of s.peers) lines.push(`  ${peer.connected ? 'connected   ' : 'disconnected'} ${p(peer.name ?? '')} ${p(peer.id)}`.replace(/ {2,}/g, ' ').replace(/^ /, '  '))
  lines.push('folders')
  for (const f of s.folders) {
    const state = f.stopped !== undefined ? 'STOPPED' : f.inSync ? 'in sync' : f.needFiles > 0 ? `syncing: need ${f.needFiles} items, ${formatBytes(f.needBytes)}` : f.scanning ? 'scanning' : 'syncing'
    lines.push(`  ${p(f.id)} ${p(f.path)}: ${state} (${f.localFiles} files, ${formatBytes(f.localBytes)})`)
    if (f.stopped !== undefined) lines.push(`    stopped since ${new Date(f.stopped.since).toISOString()}: ${p(f.stopped.reason)}`)
    if (f.heldDeletes !== undefined) lines.push(`    holding ${f.heldDeletes.count} deletes (${p(f.heldDeletes.reason)}): \`ferry folder confirm-deletes ${p(f.id)}\` records them, \`ferry revert ${p(f.id)}\` brings the files back`)
    if (f.role === 'read-only') lines.push(`    read-only: ${f.localChanges ?? 0} local change${f.localChanges === 1 ? '' : 's'} not accepted by others${(f.localChanges ?? 0) > 0 ? ` (\`ferry revert ${p(f.id)}\` discards them)` : ''}`)
    if (f.replicaInSync !== undefined) lines.push(`    replica: ${f.replicaInSync ? 'holds everything' : 'behind or unreachable'}`)
    for (const t of f.transfers) lines.push(`    receiving ${describeTransfer(t)}`)
  }
  return lines.join('\n')
}

export function formatFolders (list: FolderListEntry[]): string {
  if (list.length === 0) return 'no folders (add one with `ferry folder add <path> --id <id>`)'
  return list.map(f => {
    const members = Object.entries(f.members).map(([d, r]) => `    ${p(d)} ${p(r)}`)
    return [`${p(f.id)} ${p(f.path)}`, ...members].join('\n')
  }).join('\n')
}
