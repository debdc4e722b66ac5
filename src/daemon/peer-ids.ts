import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'

/** at most this many parsed ids are kept (devices we know are far fewer) */
const DEFAULT_MAX_CACHED_IDS = 10_000

/**
 * Parsed peer ids of the devices we know (asked per file fetched: parsing each time showed up).
 * One per daemon.
 */
export class PeerIds {
  private readonly ids = new Map<string, PeerId>()

  /** the parsed id of `peer`; throws if it does not parse */
  of (peer: string): PeerId {
    let id = this.ids.get(peer)
    if (id === undefined) {
      id = peerIdFromString(peer)
      if (this.ids.size < DEFAULT_MAX_CACHED_IDS) this.ids.set(peer, id)
    }
    return id
  }
}
