/**
 * When each trusted device was last seen: connected now (seen "now"), or the time its last
 * connection closed. Kept in memory since start; a device not seen since start has none.
 */
export class PeerPresence {
  private readonly since = new Map<string, number>()
  private readonly lastClosed = new Map<string, number>()

  connected (peer: string, nowMs = Date.now()): void {
    if (!this.since.has(peer)) this.since.set(peer, nowMs)
  }

  disconnected (peer: string, nowMs = Date.now()): void {
    this.since.delete(peer)
    this.lastClosed.set(peer, nowMs)
  }

  /** ms since the epoch: `nowMs` while connected, else when the last connection closed */
  lastSeen (peer: string, connected: boolean, nowMs = Date.now()): number | undefined {
    return connected ? nowMs : this.lastClosed.get(peer)
  }
}
