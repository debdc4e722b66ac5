import type { NodeEvent } from '../events/event-catalog.ts'
import { printablePath } from '../sync/path-errors.ts'

/** one line per config entry skipped; more are counted */
export const MAX_SKIPPED_LINES = 20

/**
 * The log lines `ferry start` and `ferry relay` print for an event (none for most: file changes,
 * transfers and applied files have their own views). The caller stamps and sanitises each line.
 */
export function eventLines (e: NodeEvent): string[] {
  switch (e.type) {
    case 'peer.connected': return [`peer connected: ${nameOf(e.detail)}`]
    case 'peer.disconnected': return [`peer disconnected: ${nameOf(e.detail)}`]
    case 'peer.cut-off': return [`cutting off ${nameOf(e.detail)}: ${e.detail.reason}`]
    case 'node.listening': return [`listening on ${e.detail.addr}`]
    case 'node.identity': return [`${e.detail.kind} id ${e.detail.id}`]
    case 'config.skipped': {
      const { entries } = e.detail
      const lines = entries.slice(0, MAX_SKIPPED_LINES).map(line => `config: skipped ${line}`)
      if (entries.length > MAX_SKIPPED_LINES) lines.push(`config: skipped ${entries.length - MAX_SKIPPED_LINES} more entries`)
      return lines
    }
    case 'folder.started': return [`folder ${e.detail.folder} at ${e.detail.path}`]
    case 'api.listening': return [`HTTP API on http://127.0.0.1:${e.detail.port} (port and token in ${e.detail.infoFile})`]
    case 'folder.scanned': {
      const s = e.detail
      return [`${s.folder}: scanned ${s.files} files, ${s.changed} changed (${s.ms} ms)`]
    }
    case 'file.error': {
      const f = e.detail
      return [`${f.folder}: ${printablePath(f.path)}: ${f.reason} (${f.code})`]
    }
    case 'file.error.cleared': return [`${e.detail.folder}: ${printablePath(e.detail.path)}: problem cleared`]
    case 'watcher.failed': return [`${e.detail.folder}: watching ${e.detail.root} failed: ${e.detail.error} (periodic rescans continue)`]
    case 'folder.stopped': return [`${e.detail.folder}: STOPPED: ${e.detail.reason}`]
    case 'folder.resumed': return [`${e.detail.folder}: resumed: its root is back`]
    case 'deletes.held': {
      const h = e.detail
      return [`${h.folder}: holding ${h.count} deletes (${h.reason}); nothing is deleted on other devices until \`ferry folder confirm-deletes ${h.folder}\`; \`ferry revert ${h.folder}\` brings the files back`]
    }
    case 'deletes.confirmed': return [`${e.detail.folder}: ${e.detail.count} held deletes confirmed`]
    case 'relay-history.failed': return [`history of ${e.detail.path} from relay ${e.detail.relay} failed: ${e.detail.error}`]
    case 'invitation.created': {
      const i = e.detail
      return [`invitation to ${i.folder} (${i.role}) made, valid until ${new Date(i.expiresAt).toISOString()}`]
    }
    case 'folder.unshared': return [`${e.detail.folder}: removed from this folder by ${nameOf({ device: e.detail.by, ...(e.detail.name === undefined ? {} : { name: e.detail.name }) })}`]
    case 'folder.key': return [`${e.detail.folder}: current key ${e.detail.keyId.slice(0, 8)} (epoch ${e.detail.epoch})${e.detail.from === undefined ? ', made here' : `, from ${nameOf({ device: e.detail.from })}`}`]
    case 'share.accepted': return [`${e.detail.device} joined ${e.detail.folder} (${e.detail.role})`]
    case 'relay.opened': return [`${e.detail.folders} folder(s), history kept ${e.detail.retentionDays} day(s)`]
    case 'relay.block.quarantined': return [`block ${e.detail.cid} is damaged on disk; quarantined, devices will upload it again`]
    case 'relay.folder.sealed': return [`${e.detail.folder}: now sealed (encrypted); removed ${e.detail.records} plaintext record(s) and ${e.detail.blocks} plaintext block(s), ${e.detail.bytes} bytes`]
    case 'metrics.listening': return [`metrics on ${e.detail.url}`]
    case 'stun.listening': return [`STUN on ${e.detail.address}`]
    case 'stun.unavailable': return [`no STUN: ${e.detail.reason}`]
    case 'replica.refused': return [`${e.detail.folder}: relay ${e.detail.replica} refused the upload: ${e.detail.reason}`]
    case 'relay.members': return [`${e.detail.folder}: member list version ${e.detail.version} (${e.detail.members} members) signed by ${e.detail.signer}`]
    case 'relay.join-window': return [e.detail.untilMs === 0
      ? `${nameOf(e.detail)} accepts no joiners through this relay any more`
      : `${nameOf(e.detail)} accepts joiners through this relay until ${new Date(e.detail.untilMs).toISOString()}`]
    case 'relay.quota': return [`${e.detail.folder}: ${nameOf(e.detail)} is at its storage quota (${e.detail.usedBytes} of ${e.detail.limitBytes} bytes); upload refused, nothing stored is touched`]
    case 'relay.limit': return [e.detail.relay === undefined
      ? `relay limit: ${nameOf(e.detail)} relayed ${e.detail.bytesToday ?? 0} of ${e.detail.dailyBytes ?? 0} bytes today; nothing more is relayed for it until tomorrow (UTC)`
      : `relay ${e.detail.relay} carries no more relayed data for ${nameOf(e.detail)} today (its daily limit is reached)`]
    default: return []
  }
}

function nameOf (d: { device: string, name?: string }): string {
  return d.name === undefined ? d.device : `${d.name} (${d.device})`
}
