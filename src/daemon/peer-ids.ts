import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'

/** parsed peer ids of the devices we know (asked per file fetched: parsing each time showed up) */
const peerIds = new Map<string, PeerId>()
export function peerIdOf (peer: string): PeerId {
  let id = peerIds.get(peer)
  if (id === undefined) {
    id = peerIdFromString(peer)
    if (peerIds.size < 10_000) peerIds.set(peer, id)
  }
  return id
}
