import type { Connection } from '@libp2p/interface'
import { isPrivate } from '@libp2p/utils'

/**
 * How a peer is reached, from its open connections:
 * - `lan`: directly, at a private or loopback address (same network, VPN)
 * - `direct`: directly, at a public address (it is reachable: a public IP or a port forward)
 * - `punched`: directly, through both NATs, after a hole punch (DCUtR over TCP; WebRTC, whose
 *   ICE punches through the NATs with the relay carrying the signalling)
 * - `relayed`: through a circuit relay
 */
export type ConnectionPath = 'lan' | 'direct' | 'punched' | 'relayed'
/** `memory`: the simulator's in-process transport */
export type ConnectionTransport = 'tcp' | 'webrtc' | 'circuit' | 'memory'

export interface ConnectionRoute { path: ConnectionPath, transport: ConnectionTransport }

const PATH_PREFERENCE: readonly ConnectionPath[] = ['lan', 'direct', 'punched', 'relayed']

export function transportOf (conn: Pick<Connection, 'remoteAddr'>): ConnectionTransport {
  const names = conn.remoteAddr.getComponents().map(c => c.name)
  // a WebRTC address names the relay that carried its signalling: /…/p2p-circuit/webrtc/p2p/<id>
  if (names.includes('webrtc') || names.includes('webrtc-direct')) return 'webrtc'
  if (names.includes('p2p-circuit')) return 'circuit'
  if (names.includes('memory')) return 'memory'
  return 'tcp'
}

/**
 * Whether `conn` has shown that it carries data. A WebRTC connection counts once a ping crossed
 * it (libp2p's connection monitor sets `rtt`); any other connection from the start.
 *
 * When both devices dial each other over WebRTC at once (DCUtR's upgrade and the daemon's direct
 * dial race), the side that answers may end up with a connection whose data channels never
 * open: libp2p calls it open, prefers it for new streams (it is direct), and every stream on it
 * times out. Such a connection is no path (webrtc-watchdog.ts closes it).
 */
export function carriesData (conn: Pick<Connection, 'remoteAddr' | 'rtt'>): boolean {
  return transportOf(conn) !== 'webrtc' || conn.rtt !== undefined
}

export function routeOf (conn: Connection, isPunched: (c: Connection) => boolean): ConnectionRoute {
  const transport = transportOf(conn)
  if (transport === 'circuit') return { path: 'relayed', transport }
  if (transport === 'webrtc' || isPunched(conn)) return { path: 'punched', transport }
  return { path: isPrivate(conn.remoteAddr) || transport === 'memory' ? 'lan' : 'direct', transport }
}

/** the best route among a peer's open connections (libp2p prefers unlimited ones for new streams), or undefined */
export function bestRoute (conns: readonly Connection[], isPunched: (c: Connection) => boolean): ConnectionRoute | undefined {
  const routes = conns.filter(c => c.status === 'open' && carriesData(c)).map(c => routeOf(c, isPunched))
  routes.sort((x, y) => PATH_PREFERENCE.indexOf(x.path) - PATH_PREFERENCE.indexOf(y.path))
  return routes[0]
}
