import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { socketTls } from './socket-tls.ts'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { mdns } from '@libp2p/mdns'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { dcutr } from '@libp2p/dcutr'
import { autoNAT } from '@libp2p/autonat'
import { ownDialBacks } from './autonat-dial-back.ts'
import { webrtcWatchdog } from './webrtc-watchdog.ts'
import { uPnPNAT } from '@libp2p/upnp-nat'
import { recordPunches, type PunchOrigin } from './punch-origin.ts'
import type { PeerInfo, PrivateKey } from '@libp2p/interface'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Registry } from 'prom-client'
import { trustedOnly } from './stranger-guard.ts'
import { webRTC } from '@libp2p/webrtc'
import { rtcConfigurationOf } from './webrtc-config.ts'

export const MDNS_SERVICE_TAG = '_ferry._udp.local'
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0']
export const DEFAULT_MDNS_INTERVAL_MS = 2_000
/** a received yamux window this small lets pause() throttle a sender (notes, G3) */
export const DEFAULT_MAX_STREAM_WINDOW_BYTES = 4 * 1024 * 1024

export interface NodeOptions {
  /**
   * libp2p's own metrics (connections, streams, bytes per protocol) into this registry. One node
   * per process only: @libp2p/prometheus-metrics keeps its metrics in a module-level map.
   */
  metricsRegistry?: Registry
  privateKey: PrivateKey
  listen: string[]
  /** only these devices may connect, in either direction, and use any protocol */
  isTrusted: (peerId: string) => boolean
  /**
   * While this answers true (an invitation is pending), other devices may connect too, inbound
   * only. Every protocol of the node's services (identify, ping, DHT, relay) refuses their
   * streams and the DHT never learns of them: only handlers the caller registers itself without
   * `onlyTrusted` (the join protocol) serve them.
   */
  admitsStrangers?: () => boolean
  /**
   * Abort a connection whose ping fails (default true). A joiner's node turns it off: the
   * inviter answers nothing but the join protocol while the joiner is still a stranger to it.
   */
  abortOnPingFailure?: boolean
  mdns: boolean
  /**
   * Run a circuit-relay-v2 server (the relay). Only trusted devices may reserve a slot, so every
   * peer that holds one is a member: their relayed connections get no libp2p data or time limit
   * (the relay applies its own per-member limits, and a stranger's, through `wrapRelayServer`).
   */
  relayServer?: boolean
  /**
   * On a relay: a stranger (admitted while `admitsStrangers` answers true) may open a circuit to
   * `device` (a trusted device with an open join window). Strangers get the hop protocol then,
   * for `connect` only: never a reservation; every other protocol refuses them.
   */
  relayStrangersTo?: (device: string) => boolean
  /** wraps the relay's circuit-relay-v2 server (its per-member limits: relay/relay-limit-guard.ts) */
  wrapRelayServer?: (server: ReturnType<typeof circuitRelayServer>) => ReturnType<typeof circuitRelayServer>
  /**
   * Also listen through relays (`/p2p-circuit`). Only a device that uses a relay should: while it
   * holds no reservation, the circuit transport looks for relays with a DHT random walk that never
   * stops (measured: the initial sync of a 1 GiB file took 13-16 s instead of 10-11 s with it on).
   */
  circuitListen?: boolean
  /**
   * Ask the home router to forward a port to us (UPnP IGD), so that devices elsewhere can dial
   * us directly. Off unless asked: its discovery multicasts on the LAN (the CLI turns it on for
   * devices unless FERRY_UPNP=0; tests never do).
   */
  upnp?: boolean
  /**
   * The transports besides the circuit relay's (default: TCP). The simulator (sim/) passes the
   * in-memory one so that many nodes run in one process; `listen` must then hold its addresses.
   */
  transports?: NonNullable<Libp2pOptions['transports']>
  /**
   * WebRTC (private-to-private, signalled over a relayed connection) with the trusted relays'
   * STUN servers as the only ICE servers (webrtc-config.ts); the node also listens on `/webrtc`.
   */
  webrtc?: { relayAddrs: () => readonly string[] }
}

/** how often the connection monitor pings each connection */
export const DEFAULT_PING_INTERVAL_MS = 5_000
/** the shortest a ping may take before its connection is aborted (libp2p's own floor is 5 s) */
export const DEFAULT_PING_TIMEOUT_MIN_MS = 20_000

/** reservations a relay holds at once (one per trusted device online) */
export const DEFAULT_MAX_RELAY_RESERVATIONS = 1024
/** ferry's own DHT: never mixed with the public IPFS one (/ipfs/kad/1.0.0) */
export const DHT_PROTOCOL = '/ferry/kad/1.0.0'

export type FerryNode = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>>, dcutr?: PunchOrigin }>

/**
 * The device's libp2p node: TCP + TLS (or Noise) + Yamux, identify and ping (used by the connection
 * monitor), mDNS on the LAN, circuit relay (client; server on a relay), and a gater that lets
 * only trusted devices in or out.
 */
export async function createNode (opts: NodeOptions): Promise<FerryNode> {
  const trusted = (peer: string): boolean => opts.isTrusted(peer)
  const deny = (peer: { toString: () => string }): boolean => !trusted(peer.toString())
  const denyInbound = (peer: { toString: () => string }): boolean => deny(peer) && opts.admitsStrangers?.() !== true
  // the DHT keeps, and tells others of, trusted devices only; every address of theirs is kept
  // (LAN and loopback included)
  const trustedPeers = (info: PeerInfo): PeerInfo => trusted(info.id.toString()) ? passthroughMapper(info) : { id: info.id, multiaddrs: [] }
  return await createLibp2p({
    privateKey: opts.privateKey,
    // devices also listen through relays (a reservation on each trusted relay they connect to),
    // so a peer whose direct addresses fail can reach them via /p2p/<relay>/p2p-circuit
    addresses: { listen: [...new Set([...opts.listen, ...(opts.relayServer !== true && opts.circuitListen === true ? ['/p2p-circuit'] : []), ...(opts.webrtc === undefined ? [] : ['/webrtc'])])] },
    transports: [
      ...(opts.transports ?? [tcp()]), trustedOnly(circuitRelayTransport(), trusted),
      ...(opts.webrtc === undefined ? [] : [trustedOnly(webRTC({ rtcConfiguration: rtcConfigurationOf(opts.webrtc.relayAddrs) }), trusted)])
    ],
    // TLS first (native OpenSSL, ~1.5x Noise's throughput here); Noise for peers without it
    connectionEncrypters: [socketTls(), noise()],
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: DEFAULT_MAX_STREAM_WINDOW_BYTES } })],
    connectionGater: {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: denyInbound,
      denyOutboundEncryptedConnection: deny,
      // a relay: only trusted devices reserve; a stranger reaches only a device with an open join window
      denyInboundRelayReservation: deny,
      denyOutboundRelayedConnection: (src, dst) => deny(src) && opts.relayStrangersTo?.(dst.toString()) !== true
    },
    connectionManager: {
      // every peer is 127.0.0.1 in tests and many share one NAT address: the default of 5/s bites
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 50
    },
    // a ping queues behind the block data already buffered on the connection (a WebRTC stream
    // buffers up to 2 MiB, several in flight): at libp2p's 5 s floor a busy WebRTC connection on a
    // slow or loaded path was aborted every few seconds (the NAT scenarios). A dead one (the
    // address went away) is still found within DEFAULT_PING_TIMEOUT_MIN_MS plus one interval.
    connectionMonitor: { pingInterval: DEFAULT_PING_INTERVAL_MS, pingTimeout: { minTimeout: DEFAULT_PING_TIMEOUT_MIN_MS }, abortConnectionOnPingFailure: opts.abortOnPingFailure ?? true },
    ...(opts.metricsRegistry === undefined ? {} : { metrics: prometheusMetrics({ registry: opts.metricsRegistry, collectDefaultMetrics: false }) }),
    peerDiscovery: opts.mdns ? [mdns({ serviceTag: MDNS_SERVICE_TAG, interval: DEFAULT_MDNS_INTERVAL_MS })] : [],
    services: {
      identify: trustedOnly(identify(), trusted),
      ping: trustedOnly(ping(), trusted),
      // a private kad-dht among trusted devices and their relays: dialing a device we have no
      // address for looks it up here. Strangers admitted for a join can neither query it nor
      // enter its routing table.
      dht: trustedOnly(kadDHT({ protocol: DHT_PROTOCOL, clientMode: false, peerInfoMapper: trustedPeers }), trusted),
      // direct connections across NATs (devices only): DCUtR upgrades a relayed connection to a
      // direct one (a hole punch, timed over the relay); AutoNAT asks peers to dial us back to
      // learn which of our addresses are reachable (only those are offered to others); the relay
      // answers AutoNAT too, from the public side. Its dial-backs make connections of their own
      // (autonat-dial-back.ts): as shipped, it closed the asker's connection.
      autoNAT: trustedOnly(ownDialBacks(autoNAT() as (c: object) => object), trusted),
      ...(opts.relayServer === true
        ? {}
        : {
            dcutr: trustedOnly(recordPunches(dcutr() as (c: object) => object), trusted),
            // a WebRTC connection whose data channels never open goes (webrtc-watchdog.ts)
            ...(opts.webrtc === undefined ? {} : { webrtcWatchdog: webrtcWatchdog() }),
            ...(opts.upnp === true ? { upnpNAT: uPnPNAT() } : {})
          }),
      ...(opts.relayServer === true
        ? { relay: trustedOnly((opts.wrapRelayServer ?? (s => s))(circuitRelayServer({ reservations: { maxReservations: DEFAULT_MAX_RELAY_RESERVATIONS, applyDefaultLimit: false } })), peer => trusted(peer) || (opts.relayStrangersTo !== undefined && opts.admitsStrangers?.() === true)) }
        : {})
    }
  }) as FerryNode
}
