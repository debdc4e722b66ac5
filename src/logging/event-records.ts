import type { NodeEvent } from '../events/event-catalog.ts'

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error'

/** One log record of a node event: its level, a short message, and the event's fields. */
export interface EventRecord {
  level: LogLevel
  msg: string
  fields: Record<string, unknown>
}

/**
 * The log record of an event, or undefined for none (the transfer snapshot, every second:
 * the file events say what arrived). What a user acts on is `warn`: a path that does not
 * sync, a folder that stopped, a config entry skipped, a watcher that failed, a peer cut off.
 * What changed is `info`: each file added, changed, renamed or deleted (here or by a peer),
 * each conflict, each peer that comes and goes. Each step of the sync engine is `debug`.
 */
export function eventRecord (e: NodeEvent): EventRecord | undefined {
  const fields = { event: e.type, ...e.detail }
  const r = (level: LogLevel, msg: string): EventRecord => ({ level, msg, fields })
  switch (e.type) {
    case 'file.added': case 'file.changed': case 'file.deleted':
      return r('info', `${e.detail.folder}: ${e.type.slice(5)} ${e.detail.path}`)
    case 'file.renamed': return r('info', `${e.detail.folder}: renamed ${e.detail.from} to ${e.detail.path}`)
    case 'conflict': return r('info', `${e.detail.folder}: conflict on ${e.detail.path}, the other version kept as ${e.detail.conflictPath}`)
    case 'file.applied': return r('debug', `${e.detail.folder}: ${e.detail.action} ${e.detail.path}`)
    case 'file.failed': return r('debug', `${e.detail.folder}: applying ${e.detail.path} failed: ${e.detail.error}`)
    case 'file.error': return r('warn', `${e.detail.folder}: ${e.detail.path}: ${e.detail.reason}`)
    case 'file.error.cleared': return r('info', `${e.detail.folder}: ${e.detail.path}: problem cleared`)
    case 'folder.scanned': return r('info', `${e.detail.folder}: scanned ${e.detail.files} files, ${e.detail.changed} changed`)
    case 'folder.started': return r('info', `folder ${e.detail.folder} at ${e.detail.path}`)
    case 'folder.stopped': return r('warn', `${e.detail.folder}: stopped: ${e.detail.reason}`)
    case 'folder.resumed': return r('info', `${e.detail.folder}: resumed`)
    case 'watcher.failed': return r('warn', `${e.detail.folder}: watching ${e.detail.root} failed: ${e.detail.error} (periodic rescans continue)`)
    case 'deletes.held': return r('warn', `${e.detail.folder}: holding ${e.detail.count} deletes: ${e.detail.reason}`)
    case 'deletes.confirmed': return r('info', `${e.detail.folder}: ${e.detail.count} held deletes confirmed`)
    case 'replica.refused': return r('warn', `${e.detail.folder}: relay ${e.detail.replica} refused the upload: ${e.detail.reason}`)
    case 'relay.members': return r('info', `${e.detail.folder}: member list version ${e.detail.version} (${e.detail.members} members) signed by ${e.detail.signer}`)
    case 'relay.join-window': return r('info', e.detail.untilMs === 0 ? `${e.detail.device} accepts no joiners through this relay any more` : `${e.detail.device} accepts joiners through this relay until ${new Date(e.detail.untilMs).toISOString()}`)
    case 'relay.quota': return r('warn', `${e.detail.folder}: ${e.detail.device} is at its storage quota (${e.detail.usedBytes} of ${e.detail.limitBytes} bytes); upload refused`)
    case 'replica.uploaded': return r('info', `${e.detail.folder}: uploaded ${e.detail.records} records and ${e.detail.blockBytes} block bytes to relay ${e.detail.replica}`)
    case 'peer.connected': return r('info', `peer connected: ${e.detail.device}`)
    case 'peer.disconnected': return r('info', `peer disconnected: ${e.detail.device}`)
    case 'peer.cut-off': return r('warn', `cutting off ${e.detail.device}: ${e.detail.reason}`)
    case 'config.skipped': return r('warn', `config: skipped ${e.detail.entries.length} entries`)
    case 'node.listening': return r('info', `listening on ${e.detail.addr}`)
    case 'node.identity': return r('info', `${e.detail.kind} id ${e.detail.id}`)
    case 'api.listening': return r('info', `HTTP API on 127.0.0.1:${e.detail.port}`)
    case 'relay-history.failed': return r('warn', `history of ${e.detail.path} from relay ${e.detail.relay} failed: ${e.detail.error}`)
    case 'invitation.created': return r('info', `invitation to ${e.detail.folder} (${e.detail.role}) made`)
    case 'share.accepted': return r('info', `${e.detail.device} joined ${e.detail.folder} (${e.detail.role})`)
    case 'relay.opened': return r('info', `relay open: ${e.detail.folders} folder(s), history kept ${e.detail.retentionDays} day(s)`)
    case 'relay.block.quarantined': return r('warn', `block ${e.detail.cid} is damaged on disk; quarantined`)
    case 'relay.folder.sealed': return r('info', `${e.detail.folder}: now sealed; ${e.detail.records} plaintext records and ${e.detail.blocks} plaintext blocks removed`)
    case 'metrics.listening': return r('info', `metrics on ${e.detail.url}`)
    case 'transfer.snapshot': return undefined
  }
}
