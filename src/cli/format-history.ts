import type { ConflictCopy } from '../history/conflict-list.ts'
import { shortDeviceId } from '../sync/conflict-name.ts'
import type { DeletedFile, Revision, RevisionSource } from '../history/revisions.ts'
import type { RestoreResult } from '../history/restore.ts'
import { printable as p } from '../text/printable.ts'
import { formatBytes } from './format-bytes.ts'

/** device id -> its name, when this device knows one (the text names devices; the JSON keeps ids) */
type Names = (device: string) => string | undefined
const noNames: Names = () => undefined

export function formatConflicts (list: ConflictCopy[], nameOf: Names = noNames): string {
  if (list.length === 0) return 'no conflicts'
  return list.map(c => `${p(c.folder)}: ${p(c.path)}\n    beside ${p(c.original)}, version of ${p(nameOf(c.device) ?? shortDeviceId(c.device))} from ${c.time.replace('T', ' ').replace('.000Z', ' UTC')}`).join('\n')
}

const when = (iso: string): string => iso.replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC')

function describeSource (s: RevisionSource, nameOf: Names): string {
  const who = (d: string): string => p(nameOf(d) ?? shortDeviceId(d))
  switch (s.kind) {
    case 'local': return 'local file'
    case 'trash': return 'trash'
    case 'peer': return `peer ${who(s.device)}`
    case 'peers': return 'peers (unknown)'
    case 'relay': return `relay ${s.device === undefined ? '' : who(s.device) + ' '}(${p(s.status)})`
  }
}

export function formatRevisions (path: string, list: Revision[], nameOf: Names = noNames): string {
  const lines = [`${p(path)}: ${list.length} version${list.length === 1 ? '' : 's'}, newest first`]
  for (const r of list) {
    const what = r.deleted ? 'deleted' : r.type === 'dir' ? 'directory' : formatBytes(r.size)
    const flags = r.current ? ' (current)' : ''
    const from = r.sources.length === 0 ? '' : `  from: ${[...new Set(r.sources.map(x => describeSource(x, nameOf)))].join(', ')}`
    lines.push(`  ${p(r.versionId)}  ${when(r.time)}  ${p(nameOf(r.device) ?? shortDeviceId(r.device))}  ${what}${flags}${from}`)
  }
  return lines.join('\n')
}

export function formatDeleted (folder: string, list: DeletedFile[], nameOf: Names = noNames): string {
  if (list.length === 0) return `no deleted files known in ${p(folder)}`
  return list.map(d => `${p(d.path)}  deleted ${when(d.deletedAt)} by ${p(nameOf(d.deletedBy) ?? shortDeviceId(d.deletedBy))}${d.lastVersionId === undefined ? '' : `  last version ${p(d.lastVersionId)} (${formatBytes(d.size ?? 0)})`}`).join('\n')
}

export function formatRestore (r: RestoreResult): string {
  const parts = Object.entries(r.from).filter(([, n]) => n > 0).map(([k, n]) => `${formatBytes(n)} from ${k}`)
  return `restored version ${p(r.versionId)} of ${p(r.path)}${r.to === r.path ? '' : ` to ${p(r.to)}`} (${formatBytes(r.size)}${parts.length > 0 ? ': ' + parts.join(', ') : ''})${r.recorded ? '; it syncs as a new version' : '; it will be recorded at the next scan'}`
}
