import { isMultiaddr } from '@multiformats/multiaddr'
import { proxyWith, withComponents } from './proxy-with.ts'

interface ConnectionLike { close: (options?: unknown) => Promise<void> }
interface OpenOptions { force?: boolean, onProgress?: (event: { type: string }) => void, [key: string]: unknown }
interface ConnectionManagerLike { openConnection: (target: unknown, options?: OpenOptions) => Promise<ConnectionLike> }

/** progress events of a dial that returned a connection someone else made or is making */
const NOT_OURS = new Set(['dial-queue:already-connected', 'dial-queue:already-in-dial-queue'])

/**
 * AutoNAT v1 (@libp2p/autonat 3.x) answers a peer's "dial me back" by opening a connection to
 * the address it names and closing whatever it got. Without `force`, libp2p hands back the
 * connection we already have to that peer (the one the question came over), so the answer was
 * "reachable" whatever the network, and closing it cut our connection to every peer that asked:
 * a relay asks each device as it connects, and each device dropped its relay within a second of
 * connecting, again at every redial.
 *
 * This gives the service a connection manager whose dials to one address (the dial-back) always
 * make a new connection, and whose `close()` leaves alone a connection it did not make (a dial
 * already under way that it joined). Dials to a list of addresses (AutoNAT's search for peers to
 * ask) pass through unchanged.
 */
export function ownDialBacks<C extends object, T> (factory: (components: C) => T): (components: C) => T {
  return (components: C) => {
    const manager = (components as { connectionManager: ConnectionManagerLike }).connectionManager
    const openConnection = async (target: unknown, options: OpenOptions = {}): Promise<ConnectionLike> => {
      if (Array.isArray(target) || !isMultiaddr(target)) return await manager.openConnection(target, options)
      let ours = true
      const conn = await manager.openConnection(target, {
        ...options,
        force: true,
        onProgress: event => {
          if (NOT_OURS.has(event.type)) ours = false
          options.onProgress?.(event)
        }
      })
      return ours ? conn : proxyWith(conn, { close: async () => {} })
    }
    return factory(withComponents(components, { connectionManager: proxyWith(manager, { openConnection }) }))
  }
}
