import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import type { RelayLimits } from './relay-limits.ts'
import { limitStrangerHop } from './stranger-circuits.ts'
import { proxyWith, withComponents } from '../src/node/proxy-with.ts'

export const HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
export const STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop'
/**
 * HopMessage { type: STATUS (2), status: RESOURCE_LIMIT_EXCEEDED (201) }, length-prefixed
 * (circuit relay v2): the answer to a member whose relayed bytes for today are used up. Its
 * device reports "failed to connect via relay with status RESOURCE_LIMIT_EXCEEDED".
 */
const LIMIT_EXCEEDED = Uint8Array.from([0x05, 0x08, 0x02, 0x28, 0xc9, 0x01])

interface Components { registrar: { handle: (p: string | string[], h: StreamHandler, o?: unknown) => Promise<void> }, connectionManager: { getConnections: (peer?: PeerId) => Connection[] } }

/**
 * A circuit-relay-v2 server factory whose relayed streams `limits` counts and limits: hop
 * streams (from the dialing member) are watched as the handler gets them, stop streams (to the
 * destination member) as the server opens them on the destination's connection. A member over
 * its daily limit is answered RESOURCE_LIMIT_EXCEEDED. A hop stream of a device the relay does not
 * trust (a joiner, let through to a device with an open join window) is charged to no member: it
 * gets the stranger's limit (stranger-circuits.ts).
 */
export function limitRelayed<C extends object, T> (factory: (components: C) => T, limits: RelayLimits, isTrusted: (peer: string) => boolean = () => true): (components: C) => T {
  return (components: C) => {
    const { registrar, connectionManager } = components as unknown as Components
    const handle = async (protocol: string | string[], handler: StreamHandler, options?: unknown): Promise<void> => {
      if (protocol !== HOP_PROTOCOL) { await registrar.handle(protocol, handler, options); return }
      await registrar.handle(protocol, (stream: Stream, connection: Connection) => {
        const member = connection.remotePeer.toString()
        if (!isTrusted(member)) {
          limitStrangerHop(stream)
          return handler(stream, connection)
        }
        if (!limits.allows(member)) {
          stream.send(LIMIT_EXCEEDED)
          void stream.close().catch(err => { stream.abort(err as Error) })
          return
        }
        limits.watch(stream, member)
        return handler(stream, connection)
      }, options)
    }
    const watchedConnection = (conn: Connection): Connection => proxyWith(conn, {
      newStream: async (protocols: string | string[], opts?: Parameters<Connection['newStream']>[1]) => {
        const stream = await conn.newStream(protocols, opts)
        if (stream.protocol === STOP_PROTOCOL) limits.watch(stream, conn.remotePeer.toString())
        return stream
      }
    })
    return factory(withComponents(components, {
      registrar: proxyWith(registrar, { handle }),
      connectionManager: proxyWith(connectionManager, { getConnections: (peer?: PeerId) => connectionManager.getConnections(peer).map(watchedConnection) })
    }))
  }
}
