import { multiaddr } from '@multiformats/multiaddr'

/** an ICE server entry as RTCConfiguration takes it */
export interface IceServer { urls: string }

/**
 * The ICE servers a device's WebRTC connections use: a STUN server on each of its trusted relays,
 * and nothing else. A relay answers STUN on UDP at the port number of its TCP listen address
 * (docs/PROTOCOL.md, "STUN"), so `/ip4/203.0.113.7/tcp/4001` gives `stun:203.0.113.7:4001`.
 * Addresses that name no host and TCP port (circuit, memory, unparsable) give none; no relay, no
 * ICE server at all: libp2p's default public STUN servers are never asked.
 */
export function iceServersOf (relayAddrs: readonly string[]): IceServer[] {
  const urls = new Set<string>()
  for (const addr of relayAddrs) {
    const url = stunUrlOf(addr)
    if (url !== undefined) urls.add(url)
  }
  return [...urls].map(urls => ({ urls }))
}

/** `stun:<host>:<tcp port>` for a relay's direct TCP address, else undefined */
export function stunUrlOf (addr: string): string | undefined {
  let components
  try { components = multiaddr(addr).getComponents() } catch { return undefined }
  if (components.some(c => c.name === 'p2p-circuit')) return undefined
  const host = components[0]
  const port = components[1]
  if (host === undefined || port === undefined || port.name !== 'tcp' || host.value === undefined || port.value === undefined) return undefined
  switch (host.name) {
    case 'ip4': case 'dns4': case 'dns': return `stun:${host.value}:${port.value}`
    case 'ip6': return `stun:[${host.value}]:${port.value}`
    default: return undefined
  }
}

/**
 * The `rtcConfiguration` for @libp2p/webrtc: read on every new WebRTC connection, so a relay
 * trusted later counts at once. `relayAddrs` answers the addresses of the trusted relays.
 */
export function rtcConfigurationOf (relayAddrs: () => readonly string[]): () => { iceServers: IceServer[] } {
  return () => ({ iceServers: iceServersOf(relayAddrs()) })
}
