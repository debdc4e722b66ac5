import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '@libp2p/logger'
import type { Libp2p } from '@libp2p/interface'
import { toError } from '../../protocols/wire/errors.ts'
import { carriesData } from '../node/connection-path.ts'

export const DEFAULT_RELAYED_DIAL_TIMEOUT_MS = 10_000

export interface RelayedDialOptions {
  /** relays we are connected to, tried in turn */
  relays: readonly string[]
  log: Logger
  /** a relay refused: it carries no more relayed data for us (or the peer) today */
  onLimit?: (relay: string) => void
}

/**
 * Last resort when `peer`'s direct addresses fail: a circuit-relay-v2 connection through one of
 * the relays we are connected to (`<relay addr>/p2p/<relay>/p2p-circuit/p2p/<peer>`). It works
 * when `peer` holds a reservation on that relay, which every device makes on the relays it
 * connects to. Resolves true once connected.
 */
export async function dialViaRelays (node: Libp2p, peer: string, opts: RelayedDialOptions): Promise<boolean> {
  const { relays, log } = opts
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
      const message = toError(err).message
      log('dialing %s through relay %s failed: %s', peer, relay, message)
      if (message.includes('RESOURCE_LIMIT_EXCEEDED')) opts.onLimit?.(relay)
    }
  }
  return false
}

/** how often a peer reached only through a relay is tried directly again */
export const DEFAULT_DIRECT_RETRY_MS = 10_000

/**
 * Whether data on a connection at `addr` passes through a relay: a circuit address, except a
 * WebRTC one (`…/p2p-circuit/webrtc/…`: the relay only carried the signalling, the data flows
 * directly between the devices).
 */
export function isRelayedAddr (addr: string): boolean {
  return addr.includes('/p2p-circuit') && !addr.includes('/webrtc')
}

/**
 * Closes `peer`'s relayed connections when a direct (or WebRTC) one is open beside them: libp2p
 * would keep opening streams on the older, relayed one (either side may have dialed either).
 * Resolves with how many were closed.
 */
export async function closeRelayedBesideDirect (node: Libp2p, peer: string, log: Logger): Promise<number> {
  const open = node.getConnections(peerIdFromString(peer)).filter(c => c.status === 'open')
  // a WebRTC connection no ping crossed yet may never carry anything (connection-path.ts)
  if (!open.some(c => !isRelayedAddr(c.remoteAddr.toString()) && carriesData(c))) return 0
  const relayed = open.filter(c => isRelayedAddr(c.remoteAddr.toString()))
  for (const c of relayed) {
    log('closing the relayed connection to %s: a direct one is open', peer)
    await c.close().catch(err => { c.abort(toError(err)) })
  }
  return relayed.length
}

/**
 * Whether `peer` is connected, but only through relays: every open connection is a circuit, a
 * relayed one or a WebRTC one (punched: it is tried over TCP still, which is preferred: a LAN or
 * a public address beats a punched path).
 */
export function onlyRelayed (node: Libp2p, peer: string): boolean {
  const open = node.getConnections(peerIdFromString(peer)).filter(c => c.status === 'open')
  return open.length > 0 && open.every(c => { const a = c.remoteAddr.toString(); return a.includes('/p2p-circuit') || a.includes('/webrtc') })
}

/**
 * A peer connected only through a relay may well be reachable directly: the relayed dial wins
 * whenever the direct one ran before anything could tell where the peer is (on a loaded machine,
 * before identify with the relay filled our private DHT's routing table), and nothing else ever
 * dials a connected peer again. Its direct addresses (`known`: the configured ones; then the peer
 * store, filled by identify over the relayed connection; then the private DHT) are dialed, its
 * WebRTC addresses (through a relay) among them; libp2p
 * opens a direct connection beside the relayed one, and the relayed one is closed. Resolves true
 * once connected directly.
 */
export async function dialDirect (node: Libp2p, peer: string, known: readonly string[], log: Logger): Promise<boolean> {
  const id = peerIdFromString(peer)
  const signal = AbortSignal.timeout(DEFAULT_RELAYED_DIAL_TIMEOUT_MS)
  // WebRTC addresses count (signalled through the relay, then direct), unless a WebRTC
  // connection is open already: then only a TCP one is better
  const hasWebrtc = node.getConnections(id).some(c => c.status === 'open' && c.remoteAddr.toString().includes('/webrtc'))
  // of two devices, only the one with the lower id dials the other over WebRTC: when both did at
  // once, the answering side could be left with a connection that never opens (connection-path.ts)
  const dialsWebrtc = !hasWebrtc && node.peerId.toString() < peer
  const direct = (addrs: Multiaddr[]): Multiaddr[] => addrs.filter(a => !isRelayedAddr(a.toString()) && (dialsWebrtc || !a.toString().includes('/p2p-circuit')))
  let addrs = direct([
    ...known.map(a => multiaddr(a)),
    ...await node.peerStore.get(id).then(p => p.addresses.map(a => a.multiaddr), () => [])
  ])
  if (addrs.length === 0) {
    addrs = direct(await node.peerRouting.findPeer(id, { signal }).then(p => p.multiaddrs, err => {
      log('looking up %s for a direct dial failed: %s', peer, toError(err).message)
      return []
    }))
  }
  if (addrs.length === 0) return false
  const withPeer = [...new Set(addrs.map(a => withPeerId(a.toString(), peer)))].map(a => multiaddr(a))
  try {
    // libp2p hands back an open WebRTC connection (it counts as direct) for any dial of the peer
    // unless forced: a LAN or public TCP address was never tried beside a punched path
    await node.dial(withPeer, { signal, ...(hasWebrtc ? { force: true } : {}) })
  } catch (err) {
    log('dialing %s directly at %s failed: %s', peer, withPeer.join(','), toError(err).message)
    return false
  }
  // libp2p would keep opening streams on the older, relayed connection: it goes (streams on it
  // fail and are retried: index subscriptions resubscribe, block requests are asked again)
  log('connected to %s directly (it was reached through a relay)', peer)
  // a TCP connection also replaces a WebRTC one (the dial above was over TCP when one was open)
  const viaTcp = node.getConnections(id).some(c => c.status === 'open' && !c.remoteAddr.toString().includes('/p2p-circuit') && !c.remoteAddr.toString().includes('/webrtc'))
  // a new WebRTC connection has not shown it carries data yet: the relayed one stays until it has
  // (the dialer's next round closes it then: closeRelayedBesideDirect)
  if (!viaTcp) return true
  for (const c of node.getConnections(id)) {
    const addr = c.remoteAddr.toString()
    if (isRelayedAddr(addr) || addr.includes('/webrtc')) await c.close().catch(err => { c.abort(toError(err)) })
  }
  return true
}

/** Whether every open connection to `peer` passes through a relay (false when none is open). */
export function reachedOnlyViaRelay (node: Libp2p, peer: string): boolean {
  const open = node.getConnections(peerIdFromString(peer)).filter(c => c.status === 'open')
  return open.length > 0 && open.every(c => isRelayedAddr(c.remoteAddr.toString()))
}

/**
 * `addr` ending in `/p2p/<peer>`. An address that names another peer earlier on (the relay of a
 * WebRTC address: `…/p2p/<relay>/p2p-circuit/webrtc`) still needs the peer's id at its end: libp2p
 * refuses a whole dial whose addresses name different peers last.
 */
export function withPeerId (addr: string, peer: string): string {
  return addr.endsWith(`/p2p/${peer}`) ? addr : `${addr}/p2p/${peer}`
}
