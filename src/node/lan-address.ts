import { isLinkLocal, isLoopback, isPrivate } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * true when `ma` is a direct connection to an address on this machine or the LAN: loopback,
 * private (RFC 1918, RFC 4193) or link-local. A relayed (circuit) connection is never LAN:
 * its bytes cross the relay's link.
 */
export function isLanAddress (ma: Multiaddr): boolean {
  if (ma.getComponents().some(c => c.name === 'p2p-circuit')) return false
  return isLoopback(ma) || isPrivate(ma) || isLinkLocal(ma)
}
