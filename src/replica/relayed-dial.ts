import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '@libp2p/logger'
import type { Libp2p } from '@libp2p/interface'
import { toError } from '../../protocols/wire/errors.ts'

export const DEFAULT_RELAYED_DIAL_TIMEOUT_MS = 10_000

/**
 * Last resort when `peer`'s direct addresses fail: a circuit-relay-v2 connection through one of
 * the relays we are connected to (`<relay addr>/p2p/<relay>/p2p-circuit/p2p/<peer>`). It works
 * when `peer` holds a reservation on that relay, which every device makes on the relays it
 * connects to. Resolves true once connected.
 */
export async function dialViaRelays (node: Libp2p, peer: string, relays: readonly string[], log: Logger): Promise<boolean> {
  for (const relay of relays) {
    const conn = node.getConnections().find(c => c.remotePeer.toString() === relay && c.status === 'open' && c.limits === undefined)
    if (conn === undefined) continue
    const base = conn.remoteAddr.toString().split('/p2p/')[0]!
    const addr = multiaddr(`${base}/p2p/${relay}/p2p-circuit/p2p/${peer}`)
    try {
      await node.dial(addr, { signal: AbortSignal.timeout(DEFAULT_RELAYED_DIAL_TIMEOUT_MS) })
      log('connected to %s through relay %s', peer, relay)
      return true
    } catch (err) {
      log('dialing %s through relay %s failed: %s', peer, relay, toError(err).message)
    }
  }
  return false
}
