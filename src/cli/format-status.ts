import type { DaemonStatus, PeerStatus } from '../daemon/status-types.ts'
import { formatBytes } from './format-bytes.ts'
import { printable as p } from '../text/printable.ts'
import { printablePath } from '../sync/path-errors.ts'
import { formatTable } from './table.ts'

type FolderEntry = DaemonStatus['folders'][number]
/** what `ferry status` says a folder is doing */
export type FolderState = 'idle' | 'syncing' | 'scanning' | 'stopped' | 'paused' | 'removed' | 'error'

export function folderState (f: FolderEntry): FolderState {
  if (f.paused === true) return 'paused'
  if (f.stopped !== undefined) return 'stopped'
  if (f.removed !== undefined) return 'removed'
  if (f.scanning) return 'scanning'
  if (!f.inSync) return 'syncing'
  return (f.errorCount ?? 0) > 0 ? 'error' : 'idle'
}

/** 'now', '42 s ago', '5 min ago', '3 h ago', '2 d ago'; 'never' when unknown */
export function relativeTime (ms: number | undefined, connected: boolean, nowMs: number): string {
  if (connected) return 'now'
  if (ms === undefined) return 'never'
  const s = Math.max(0, Math.round((nowMs - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86_400)} d ago`
}

const shortId = (id: string): string => `…${id.slice(-7)}`
const files = (n: number): string => `${n} file${n === 1 ? '' : 's'}`
const rate = (bytesPerSecond: number): string => `${formatBytes(bytesPerSecond)}/s`
const eta = (seconds: number | undefined): string => seconds === undefined || !Number.isFinite(seconds) ? '-' : seconds < 120 ? `${Math.ceil(seconds)} s` : `${Math.ceil(seconds / 60)} min`

/** `ferry status` as text: the device, then tables of peers, folders and transfers both ways. */
export function formatStatus (s: DaemonStatus, nowMs = Date.now()): string {
  const nameOf = (id: string): string => p(s.peers.find(x => x.id === id)?.name ?? shortId(id))
  const lines = [`device ${p(s.deviceId)}`]
  for (const a of s.listenAddrs) lines.push(`  listening ${p(a)}`)
  lines.push('', `peers (${s.peers.filter(x => x.connected).length}/${s.peers.length} connected)`)
  if (s.peers.length === 0) lines.push('  none (`ferry device add` or `ferry invite`)')
  else lines.push(...formatTable([{ header: 'DEVICE' }, { header: 'ID' }, { header: 'STATE' }, { header: 'PATH' }, { header: 'LAST SEEN' }, { header: 'COMPLETION', align: 'right' }], s.peers.map(x => peerRow(x, nowMs)), '  '))
  lines.push('', 'folders')
  const uploads = s.uploads ?? []
  const rows = s.folders.map(f => {
    const rateIn = f.transfers.reduce((sum, t) => sum + t.bytesPerSecond, 0)
    const rateOut = uploads.filter(u => u.folder === f.id).reduce((sum, u) => sum + u.bytesPerSecond, 0)
    const need = f.needFiles > 0 ? `${files(f.needFiles)}, ${formatBytes(f.needBytes)}` : '-'
    return [p(f.id), p(f.path), folderState(f), need, `${files(f.localFiles ?? 0)}, ${formatBytes(f.localBytes ?? 0)}`, rate(rateIn), rate(rateOut), f.needBytes > 0 && rateIn > 0 ? eta(f.needBytes / rateIn) : '-']
  })
  if (rows.length === 0) lines.push('  none (`ferry folder add` or `ferry join`)')
  else lines.push(...formatTable([{ header: 'FOLDER' }, { header: 'PATH' }, { header: 'STATE' }, { header: 'NEED' }, { header: 'LOCAL' }, { header: 'IN', align: 'right' }, { header: 'OUT', align: 'right' }, { header: 'ETA', align: 'right' }], rows, '  '))
  for (const f of s.folders) lines.push(...folderNotes(f, nameOf))
  const transfers = [
    ...s.folders.flatMap(f => f.transfers.map(t => ['down', '-', p(t.folder), p(t.path), `${t.sizeBytes === 0 ? 100 : Math.floor(t.doneBytes / t.sizeBytes * 100)}% of ${formatBytes(t.sizeBytes)}`, rate(t.bytesPerSecond), eta(t.etaSeconds)])),
    ...uploads.map(u => ['up', nameOf(u.peer), p(u.folder), p(u.path), `${formatBytes(u.bytes)} sent`, rate(u.bytesPerSecond), '-'])
  ]
  lines.push('', 'transfers')
  if (transfers.length === 0) lines.push('  none')
  else lines.push(...formatTable([{ header: 'DIR' }, { header: 'DEVICE' }, { header: 'FOLDER' }, { header: 'FILE' }, { header: 'DONE' }, { header: 'RATE', align: 'right' }, { header: 'ETA', align: 'right' }], transfers, '  '))
  return lines.join('\n')
}

function peerRow (x: PeerStatus, nowMs: number): string[] {
  return [p(x.name ?? shortId(x.id)), shortId(x.id), x.connected ? 'connected' : 'offline', x.path === undefined ? '-' : `${x.path}${x.transport === undefined ? '' : ` (${x.transport})`}`, relativeTime(x.lastSeen, x.connected, nowMs), x.completion === undefined ? '-' : `${x.completion}%`]
}

/** what a folder's row cannot say: why it stopped, who removed us, held deletes, errors */
function folderNotes (f: FolderEntry, nameOf: (id: string) => string): string[] {
  const id = p(f.id)
  const head = `  ${id} ${p(f.path)}`
  if (f.paused === true) return [`${head}: paused (\`ferry folder resume ${id}\` syncs it again)`]
  const lines: string[] = []
  if (f.stopped !== undefined) lines.push(`${head}: STOPPED since ${new Date(f.stopped.since).toISOString()}: ${p(f.stopped.reason)}`)
  if (f.removed !== undefined) lines.push(`${head}: removed from this folder by ${nameOf(f.removed.by)} (since ${new Date(f.removed.since).toISOString()}); it no longer syncs it with this device`)
  const details: string[] = []
  if (f.heldDeletes !== undefined) details.push(`    holding ${f.heldDeletes.count} deletes (${p(f.heldDeletes.reason)}): \`ferry folder confirm-deletes ${id}\` records them, \`ferry revert ${id}\` brings the files back`)
  if (f.role === 'read-only') details.push(`    read-only: ${f.localChanges ?? 0} local change${f.localChanges === 1 ? '' : 's'} not accepted by others${(f.localChanges ?? 0) > 0 ? ` (\`ferry revert ${id}\` discards them)` : ''}`)
  if (f.replicaInSync !== undefined) details.push(`    replica: ${f.replicaInSync ? 'holds everything' : 'behind or unreachable'}`)
  if (f.replicaRefused !== undefined) details.push(`    relay ${nameOf(f.replicaRefused.relay)} refuses uploads: ${p(f.replicaRefused.reason)}`)
  if (f.relayQuota !== undefined) details.push(`    storage on relay ${nameOf(f.relayQuota.relay)}: ${f.relayQuota.usedBytes} of ${f.relayQuota.limitBytes ?? 'unlimited'} bytes`)
  details.push(...formatPathErrors(f))
  if (lines.length === 0 && details.length > 0) lines.push(`${head}:`)
  return [...lines, ...details]
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
