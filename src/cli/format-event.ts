import type { FerryEvent } from '../events/event-bus.ts'
import { printable as p } from '../text/printable.ts'
import { formatBytes } from './format-bytes.ts'
import { printablePath } from '../sync/path-errors.ts'

/** One line per event for `ferry events`; devices by name when this device knows one. */
export function formatEvent (e: FerryEvent, names: Record<string, string | undefined>): string {
  const who = (id: string): string => p(names[id] ?? `…${id.slice(-7)}`)
  const f = 'folder' in e ? p(e.folder) : ''
  const time = new Date(e.time).toISOString().slice(11, 23)
  switch (e.type) {
    case 'file.added':
    case 'file.changed':
      return `${time} ${e.type.slice(5)} ${f}/${p(e.path)}${e.entry === 'dir' ? '/' : ` (${formatBytes(e.size)})`} by ${who(e.device)}`
    case 'file.deleted':
      return `${time} deleted ${f}/${p(e.path)}${e.entry === 'dir' ? '/' : ''} by ${who(e.device)}`
    case 'file.renamed':
      return `${time} renamed ${f}/${p(e.from)} -> ${p(e.path)} by ${who(e.device)}`
    case 'conflict':
      return `${time} conflict ${f}/${p(e.path)}: ${e.name === undefined ? who(e.device) : p(e.name)}'s version kept the name, ${e.keptFromName === undefined ? who(e.keptFrom) : p(e.keptFromName)}'s is ${p(e.conflictPath)}`
    case 'folder.unshared':
      return `${time} removed from ${f} by ${e.name === undefined ? who(e.device) : p(e.name)} ${p(e.device)}`
    case 'peer.connected':
    case 'peer.disconnected':
      return `${time} ${e.type.slice(5)} ${e.name === undefined ? who(e.device) : p(e.name)} ${p(e.device)}`
    case 'transfer.progress':
      return `${time} receiving ${f}/${p(e.path)} ${formatBytes(e.doneBytes)} / ${formatBytes(e.sizeBytes)}`
    case 'file.error':
      return `${time} error ${f}/${printablePath(e.path)}: ${p(e.reason)} (${e.code})`
    case 'file.error.cleared':
      return `${time} ok again ${f}/${printablePath(e.path)}`
    case 'share.accepted':
      return `${time} ${e.name === undefined ? who(e.device) : p(e.name)} ${p(e.device)} joined ${f} (${e.role})`
    case 'folder.stopped':
      return `${time} folder ${f} stopped: ${p(e.reason)}`
    case 'folder.resumed':
      return `${time} folder ${f} resumed`
    case 'deletes.held':
      return `${time} holding ${e.count} deletes in ${f} (${p(e.reason)}): \`ferry folder confirm-deletes ${f}\` or \`ferry revert ${f}\``
    case 'deletes.confirmed':
      return `${time} ${e.count} held deletes in ${f} confirmed`
    case 'replica.refused':
      return `${time} relay ${p(e.relay)} refused the upload of ${f}: ${p(e.reason)}`
    case 'folder.key':
      return `${time} ${f}: current key ${p(e.keyId.slice(0, 8))} (epoch ${e.epoch})${e.device === undefined ? ' made here' : ` from ${who(e.device)}`}`
    case 'relay.limit':
      return `${time} relay ${p(e.relay)} carries no more relayed data for ${e.name === undefined ? who(e.device) : p(e.name)} ${p(e.device)} today`
  }
}
