import type { Connection } from '@libp2p/interface'
import { proxyWith, withComponents } from './proxy-with.ts'

/**
 * @libp2p/dcutr dials a hole punch (both peers dial each other's observed addresses at once,
 * timed over the relayed connection) at this priority; its other dial, the unilateral upgrade to
 * a peer that has a public address, uses the default priority. Not exported by dcutr: taken
 * from its source (DCUTR_DIAL_PRIORITY).
 */
export const DCUTR_PUNCH_DIAL_PRIORITY = 100

/** what a DCUtR service wrapped in `recordPunches` also answers */
export interface PunchOrigin {
  /** whether `connection` was opened by a hole punch (not a plain dial of a known address) */
  isPunched: (connection: Connection) => boolean
}

interface ConnectionManagerLike {
  openConnection: (target: unknown, options?: { priority?: number }) => Promise<Connection>
}

/**
 * A DCUtR service factory whose hole-punch dials are remembered: its `components.connectionManager`
 * is wrapped so that a connection opened at DCUTR_PUNCH_DIAL_PRIORITY is recorded. The status
 * reports such a connection's path as `punched` (connection-path.ts); libp2p itself keeps no
 * trace of why a connection was opened.
 */
export function recordPunches<C extends object, T extends object> (factory: (components: C) => T): (components: C) => T & PunchOrigin {
  return (components: C) => {
    const punched = new WeakSet<Connection>()
    const manager = (components as { connectionManager: ConnectionManagerLike }).connectionManager
    const tracked = proxyWith(manager, {
      openConnection: async (peer: unknown, options?: { priority?: number }) => {
        const conn = await manager.openConnection(peer, options)
        if (options?.priority === DCUTR_PUNCH_DIAL_PRIORITY) punched.add(conn)
        return conn
      }
    })
    return Object.assign(factory(withComponents(components, { connectionManager: tracked })), { isPunched: (c: Connection) => punched.has(c) })
  }
}
