/** How a connection reaches a peer: same network, a direct connection over the internet, or through a relay. */
export type ConnectionPath = 'lan' | 'direct' | 'relayed'

const PRIVATE_V4 = [/^10\./, /^127\./, /^192\.168\./, /^169\.254\./, /^172\.(1[6-9]|2\d|3[01])\./, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./]

/**
 * The path of one connection, from its remote multiaddr and whether libp2p limits it (a relayed
 * connection has limits or a `/p2p-circuit` hop); private, loopback and link-local addresses count
 * as the local network. Undefined when the address says nothing (the in-memory transport).
 */
export function connectionPath (remoteAddr: string, limited: boolean): ConnectionPath | undefined {
  if (limited || remoteAddr.includes('/p2p-circuit')) return 'relayed'
  const v4 = /^\/ip4\/([^/]+)/.exec(remoteAddr)
  if (v4 !== null) return PRIVATE_V4.some(re => re.test(v4[1]!)) ? 'lan' : 'direct'
  const v6 = /^\/ip6\/([^/]+)/.exec(remoteAddr)
  if (v6 !== null) {
    const a = v6[1]!.toLowerCase()
    return a === '::1' || a.startsWith('fe80:') || a.startsWith('fc') || a.startsWith('fd') ? 'lan' : 'direct'
  }
  return undefined
}
