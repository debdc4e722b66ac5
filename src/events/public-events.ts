import type { NodeEvent } from './event-catalog.ts'
import type { EventBus, EventFields } from './event-bus.ts'
import type { NodeEvents } from './node-events.ts'

/**
 * The public shape (`GET /events`, `ferry events`) of a node event: none for internal events,
 * one per file being received for a transfer snapshot. Fields are built one by one, in the order clients have always seen them: the
 * JSON on the wire must not change.
 */
export function publicEventsOf (e: NodeEvent): EventFields[] {
  switch (e.type) {
    case 'file.added': case 'file.changed': case 'file.deleted': {
      const f = e.detail
      return [{ type: e.type, folder: f.folder, path: f.path, entry: f.entry, size: f.size, device: f.device }]
    }
    case 'file.renamed': {
      const f = e.detail
      return [{ type: e.type, folder: f.folder, from: f.from, path: f.path, entry: f.entry, size: f.size, device: f.device }]
    }
    case 'conflict': {
      const c = e.detail
      return [{ type: 'conflict', folder: c.folder, path: c.path, conflictPath: c.conflictPath, device: c.winner, keptFrom: c.kept, ...(c.winnerName === undefined ? {} : { name: c.winnerName }), ...(c.keptName === undefined ? {} : { keptFromName: c.keptName }) }]
    }
    case 'peer.connected': case 'peer.disconnected': {
      const p = e.detail
      return [{ type: e.type, device: p.device, ...(p.name === undefined ? {} : { name: p.name }) }]
    }
    case 'transfer.snapshot':
      return e.detail.transfers.map(t => ({ type: 'transfer.progress', folder: t.folder, path: t.path, sizeBytes: t.sizeBytes, doneBytes: t.doneBytes, bytesPerSecond: t.bytesPerSecond }))
    case 'file.error': {
      const f = e.detail
      return [{ type: 'file.error', folder: f.folder, path: f.path, code: f.code, reason: f.reason }]
    }
    case 'file.error.cleared': return [{ type: 'file.error.cleared', folder: e.detail.folder, path: e.detail.path }]
    case 'share.accepted': {
      const s = e.detail
      return [{ type: 'share.accepted', folder: s.folder, device: s.device, role: s.role, ...(s.name === undefined ? {} : { name: s.name }) }]
    }
    case 'folder.stopped': return [{ type: 'folder.stopped', folder: e.detail.folder, code: e.detail.code, reason: e.detail.reason }]
    case 'folder.resumed': return [{ type: 'folder.resumed', folder: e.detail.folder }]
    case 'folder.unshared': return [{ type: 'folder.unshared', folder: e.detail.folder, device: e.detail.by, ...(e.detail.name === undefined ? {} : { name: e.detail.name }) }]
    case 'folder.key': return [{ type: 'folder.key', folder: e.detail.folder, keyId: e.detail.keyId, epoch: e.detail.epoch, ...(e.detail.from === undefined ? {} : { device: e.detail.from }) }]
    case 'deletes.held': {
      const h = e.detail
      return [{ type: 'deletes.held', folder: h.folder, count: h.count, paths: h.paths, reason: h.reason }]
    }
    case 'deletes.confirmed': return [{ type: 'deletes.confirmed', folder: e.detail.folder, count: e.detail.count }]
    // a device's (the relay's own has no `relay`)
    case 'relay.limit': return e.detail.relay === undefined ? [] : [{ type: 'relay.limit', device: e.detail.device, relay: e.detail.relay, ...(e.detail.name === undefined ? {} : { name: e.detail.name }) }]
    case 'replica.refused': return [{ type: 'replica.refused', folder: e.detail.folder, relay: e.detail.replica, code: e.detail.code, reason: e.detail.reason }]
    default: return []
  }
}

/** Publishes the public node events on `bus` (what `GET /events` streams); returns the unsubscribe function. */
export function publishPublicEvents (events: NodeEvents, bus: EventBus): () => void {
  return events.subscribe(e => {
    for (const fields of publicEventsOf(e)) bus.publish(fields)
  })
}
