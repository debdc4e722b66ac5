import type { Role } from '../config/config.ts'

/**
 * What happened, as the HTTP API's `GET /events` (server-sent events) and `ferry events` show
 * it. `device` is who made the change (a record's `modifiedBy`), not who relayed it.
 */
export type EventFields =
  | { type: 'file.added' | 'file.changed' | 'file.deleted', folder: string, path: string, entry: 'file' | 'dir', size: number, device: string }
  | { type: 'file.renamed', folder: string, from: string, path: string, entry: 'file', size: number, device: string }
  /** a concurrent version lost: it was kept as `conflictPath`; `device` made the winning version */
  | { type: 'conflict', folder: string, path: string, conflictPath: string, device: string, keptFrom: string, name?: string, keptFromName?: string }
  | { type: 'peer.connected' | 'peer.disconnected', device: string, name?: string }
  /** at most one per file per second; not kept for replay */
  | { type: 'transfer.progress', folder: string, path: string, sizeBytes: number, doneBytes: number, bytesPerSecond: number }
  /** `path` has a problem of its own (unreadable, a name that cannot be synced, no space...); the rest of the folder syncs on */
  | { type: 'file.error', folder: string, path: string, code: string, reason: string }
  /** the problem of `path` is over (it scanned or applied fine, or is gone) */
  | { type: 'file.error.cleared', folder: string, path: string }
  /** someone joined a folder with an invitation of ours */
  | { type: 'share.accepted', folder: string, device: string, role: Role, name?: string }
  /** `device` (a member) removed this device from `folder` (it refuses to sync it with us) */
  | { type: 'folder.unshared', folder: string, device: string, name?: string }
  /** the folder's current key changed (`keyId` names it, never reveals it); `device`: the member it came from */
  | { type: 'folder.key', folder: string, keyId: string, epoch: number, device?: string }
  /** the folder stopped syncing (its root is missing, not a directory, on another file system, or lacks its marker) / resumed */
  | { type: 'folder.stopped', folder: string, code: string, reason: string }
  | { type: 'folder.resumed', folder: string }
  /** mass-delete protection holds `count` deletes (paths: the first 20) / the user confirmed them */
  | { type: 'deletes.held', folder: string, count: number, paths: string[], reason: string }
  | { type: 'deletes.confirmed', folder: string, count: number }
  /** a relay refused to carry a connection to `device`: its daily limit of relayed data is reached */
  | { type: 'relay.limit', device: string, relay: string, name?: string }
  /** a relay refused an upload of `folder` (`code` ERR_FERRY_RELAY_QUOTA: this device's storage quota there is full) */
  | { type: 'replica.refused', folder: string, relay: string, code: string, reason: string }

export type EventType = EventFields['type']

/** id: increasing (across restarts too: it starts from a microsecond clock); time: ms since the epoch */
export type FerryEvent = EventFields & { id: number, time: number }

export const DEFAULT_EVENT_RING_SIZE = 1000
/** event types too frequent and too short-lived to replay: they would push the others out */
const TRANSIENT: ReadonlySet<EventType> = new Set(['transfer.progress'])

export type EventListener = (e: FerryEvent) => void

/**
 * In-process publish/subscribe with a bounded ring of recent events, so a client that
 * reconnects with `Last-Event-ID` gets what it missed (if still in the ring).
 */
export class EventBus {
  private readonly ring: FerryEvent[] = []
  private readonly ringSize: number
  private readonly listeners = new Set<EventListener>()
  private lastId: number
  /** the id of the newest event pushed out of the ring (0: none yet) */
  private lastDroppedId = 0

  constructor (options: { ringSize?: number } = {}) {
    this.ringSize = options.ringSize ?? DEFAULT_EVENT_RING_SIZE
    this.lastId = Date.now() * 1000
  }

  publish (fields: EventFields): FerryEvent {
    const e: FerryEvent = { ...fields, id: ++this.lastId, time: Date.now() }
    if (!TRANSIENT.has(e.type)) {
      this.ring.push(e)
      if (this.ring.length > this.ringSize) this.lastDroppedId = this.ring.shift()!.id
    }
    for (const fn of this.listeners) {
      try { fn(e) } catch { /* a listener's failure is its own business */ }
    }
    return e
  }

  subscribe (fn: EventListener): () => void {
    this.listeners.add(fn)
    return () => { this.listeners.delete(fn) }
  }

  /**
   * Replayable events after `id`, oldest first; `complete` is false when some of them were
   * already pushed out of the ring (so `since(0)` is complete until the ring first overflows:
   * a client that waited for the daemon to start gets everything it emitted).
   */
  since (id: number): { events: FerryEvent[], complete: boolean } {
    const events = this.ring.filter(e => e.id > id)
    return { events, complete: id >= this.lastDroppedId }
  }
}
