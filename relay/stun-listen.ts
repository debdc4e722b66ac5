import { multiaddr } from '@multiformats/multiaddr'
import type { StunListen } from './stun-server.ts'

/**
 * Where a relay answers STUN by default: UDP on the host of its first TCP listen address and
 * the port number that address is bound to (`bound`: the node's addresses, for a port 0 asked).
 * Devices find it there: the ICE server of a relay at `/ip4/H/tcp/P` is `stun:H:P`. Undefined
 * when the relay has no TCP listen address.
 */
export function defaultStunListen (listen: readonly string[], bound: readonly string[]): StunListen | undefined {
  const tcp = (addr: string): { host: string, port: number } | undefined => {
    try {
      const [host, port] = multiaddr(addr).getComponents()
      if (host === undefined || port?.name !== 'tcp' || (host.name !== 'ip4' && host.name !== 'ip6')) return undefined
      return { host: host.value!, port: Number(port.value) }
    } catch { return undefined }
  }
  const first = listen.map(tcp).find(a => a !== undefined)
  if (first === undefined) return undefined
  if (first.port !== 0) return first
  const port = bound.map(tcp).find(a => a !== undefined && a.port !== 0)?.port
  return port === undefined ? undefined : { host: first.host, port }
}
