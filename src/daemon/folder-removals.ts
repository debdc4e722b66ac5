/** A member refused us a folder: it removed this device from it (`ferry unshare` there). */
export interface FolderRemoval {
  /** the device that refused */
  by: string
  /** ms since the epoch: when it first refused */
  since: number
}

/**
 * Which members refused our index subscription to a folder with "not a member" since start, per
 * folder. A later subscription that the member accepts (shared again) clears it. Refusing members
 * are not waited for: the folder can be in sync with the others.
 */
export class FolderRemovals {
  private readonly byFolder = new Map<string, Map<string, number>>()
  private readonly onRemoved: (folder: string, by: string) => void

  constructor (onRemoved: (folder: string, by: string) => void) {
    this.onRemoved = onRemoved
  }

  refused (folder: string, peer: string, nowMs = Date.now()): void {
    let peers = this.byFolder.get(folder)
    if (peers === undefined) this.byFolder.set(folder, peers = new Map())
    if (peers.has(peer)) return
    peers.set(peer, nowMs)
    this.onRemoved(folder, peer)
  }

  accepted (folder: string, peer: string): void {
    const peers = this.byFolder.get(folder)
    peers?.delete(peer)
    if (peers?.size === 0) this.byFolder.delete(folder)
  }

  hasRefused (folder: string, peer: string): boolean {
    return this.byFolder.get(folder)?.has(peer) === true
  }

  /** the first refusal of `folder` still standing */
  of (folder: string): FolderRemoval | undefined {
    const first = [...this.byFolder.get(folder) ?? []].sort((a, b) => a[1] - b[1])[0]
    return first === undefined ? undefined : { by: first[0], since: first[1] }
  }
}
