import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'

/** listening on this makes the circuit transport hold a reservation on the relays we connect to */
export const CIRCUIT_LISTEN_ADDR = '/p2p-circuit'

interface TransportManagerLike { listen: (addrs: Multiaddr[]) => Promise<void> }

/**
 * Starts listening through relays on a running node (a relay was added to the config): from then
 * on the circuit transport makes a reservation on each relay the node is, or gets, connected to,
 * so other devices reach this one through it at once, with no restart. Resolves false when it
 * could not: the node exposes no transport manager (libp2p's own node always does: its
 * `components`, not part of the Libp2p interface, are the only way to add a listen address to a
 * running node).
 */
export async function listenThroughRelays (node: Libp2p): Promise<boolean> {
  const tm = (node as unknown as { components?: { transportManager?: TransportManagerLike } }).components?.transportManager
  if (tm === undefined) return false
  await tm.listen([multiaddr(CIRCUIT_LISTEN_ADDR)])
  return true
}
