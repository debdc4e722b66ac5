import type { FerryEvent } from '../events/event-bus.ts'
import { formatBytes } from './format-bytes.ts'
import { printablePath } from '../sync/path-errors.ts'

/** One line per event for `ferry events`; devices by name when this device knows one. */
export function formatEvent (e: FerryEvent, names: Record<string, string | undefined>): string {
  const who = (id: string): string => names[id] ?? `…${id.slice(-7)}`
  const time = new Date(e.time).toISOString().slice(11, 23)
  switch (e.type) {
    case 'file.added':
    case 'file.changed':
      return `${time} ${e.type.slice(5)} ${e.folder}/${e.path}${e.entry === 'dir' ? '/' : ` (${formatBytes(e.size)})`} by ${who(e.device)}`
    case 'file.deleted':
      return `${time} deleted ${e.folder}/${e.path}${e.entry === 'dir' ? '/' : ''} by ${who(e.device)}`
    case 'file.renamed':
      return `${time} renamed ${e.folder}/${e.from} -> ${e.path} by ${who(e.device)}`
    case 'conflict':
      return `${time} conflict ${e.folder}/${e.path}: ${who(e.device)}'s version kept the name, ${who(e.keptFrom)}'s is ${e.conflictPath}`
    case 'peer.connected':
    case 'peer.disconnected':
      return `${time} ${e.type.slice(5)} ${e.name ?? who(e.device)} ${e.device}`
    case 'transfer.progress':
      return `${time} receiving ${e.folder}/${e.path} ${formatBytes(e.doneBytes)} / ${formatBytes(e.sizeBytes)}`
    case 'file.error':
      return `${time} error ${e.folder}/${printablePath(e.path)}: ${e.reason} (${e.code})`
    case 'file.error.cleared':
      return `${time} ok again ${e.folder}/${printablePath(e.path)}`
    case 'share.accepted':
      return `${time} ${e.name ?? who(e.device)} ${e.device} joined ${e.folder} (${e.role})`
  }
}
