import type { Logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { FerryNode } from '../node/create-node.ts'
import { Backoff } from '../node/backoff.ts'
import { toError } from '../../protocols/wire/errors.ts'
import { closeRelayedBesideDirect, DEFAULT_DIRECT_RETRY_MS, dialDirect, dialViaRelays, onlyRelayed } from '../replica/relayed-dial.ts'

export const DEFAULT_DIAL_TIMEOUT_MS = 10_000
/**
 * A connection that lasts less than this counts as a failed dial (the other side refused us:
 * its gater closes the connection right after the handshake); one that lasts longer clears the
 * device's backoff.
 */
export const DEFAULT_STABLE_CONNECTION_MS = 10_000

export interface DeviceDialerComponents {
  node: () => FerryNode
  /** the devices of the config, with their static addresses */
  devices: () => Record<string, { addrs: string[] }>
  isTrusted: (peer: string) => boolean
  isConnected: (peer: string) => boolean
  /** relays we may reach `peer` through */
  relays: (peer: string) => string[]
  stopped: () => boolean
  log: Logger
  backoff?: Backoff
  /** a relay refused to carry a connection to `peer`: its daily limit is reached */
  relayLimited?: (peer: string, relay: string) => void
}

/**
 * Dials trusted devices we are not connected to, each at most once at a time and no sooner
 * than its backoff allows: a device that is unreachable, or that closes our connections at once
 * (it does not trust us), is tried after 1-2 s, then 2-4 s, ... up to a few minutes.
 */
export class DeviceDialer {
  private readonly c: DeviceDialerComponents
  private readonly backoff: Backoff
  private readonly dialing = new Set<string>()
  private readonly connectedAt = new Map<string, number>()
  /** when a peer reached only through a relay was last dialed directly */
  private readonly directTried = new Map<string, number>()

  constructor (components: DeviceDialerComponents) {
    this.c = components
    this.backoff = components.backoff ?? new Backoff()
  }

  /**
   * one dial round: every trusted device that is not connected and whose backoff allows; a
   * device reached only through a relay is dialed directly again, and a relayed connection
   * beside a direct (or WebRTC) one is closed (relayed-dial.ts)
   */
  dialAll (): void {
    for (const peer of Object.keys(this.c.devices())) {
      if (!this.c.isTrusted(peer)) continue
      if (!this.c.isConnected(peer)) { void this.dial(peer); continue }
      // a WebRTC connection counts as direct here (the relay carries none of its data), yet it is
      // tried over TCP still: both checks run (a WebRTC connection that no dial of ours opened,
      // e.g. the peer's, left the relayed one open beside it forever)
      void closeRelayedBesideDirect(this.c.node(), peer, this.c.log).catch(() => 0)
      if (onlyRelayed(this.c.node(), peer)) void this.dialDirectly(peer)
    }
  }

  /** at most every DEFAULT_DIRECT_RETRY_MS per peer; never rejects */
  private async dialDirectly (peer: string): Promise<void> {
    if (this.dialing.has(peer) || this.c.stopped() || Date.now() - (this.directTried.get(peer) ?? 0) < DEFAULT_DIRECT_RETRY_MS) return
    this.dialing.add(peer)
    this.directTried.set(peer, Date.now())
    try {
      const known = addrsOf(peer, this.c.devices()[peer]?.addrs ?? [], this.c.log).map(a => a.toString())
      await dialDirect(this.c.node(), peer, known, this.c.log)
    } catch (err) {
      this.c.log('dialing %s directly failed: %s', peer, toError(err).message)
    } finally {
      this.dialing.delete(peer)
    }
  }

  /** the config changed: the user may have fixed an address; try everyone again now */
  reset (): void {
    this.backoff.reset()
  }

  /** a connection to `peer` opened (either direction) */
  connected (peer: string): void {
    if (!this.connectedAt.has(peer)) this.connectedAt.set(peer, Date.now())
  }

  /** our last connection to `peer` closed: a short one counts as a failed dial */
  disconnected (peer: string): void {
    const since = this.connectedAt.get(peer)
    this.connectedAt.delete(peer)
    if (since === undefined) return
    if (Date.now() - since >= DEFAULT_STABLE_CONNECTION_MS) this.backoff.succeeded(peer)
    else this.backoff.failed(peer)
  }

  /** Never rejects: every failure is logged and counted in the device's backoff. */
  async dial (peer: string): Promise<void> {
    if (this.dialing.has(peer) || this.c.stopped() || !this.backoff.ready(peer)) return
    this.dialing.add(peer)
    const failuresBefore = this.backoff.failures(peer)
    try {
      await this.attempt(peer)
    } catch (err) {
      this.c.log('dialing %s failed: %s', peer, toError(err).message)
    } finally {
      this.dialing.delete(peer)
      // not connected, and a quick disconnect did not count it already
      if (!this.c.isConnected(peer) && this.backoff.failures(peer) === failuresBefore) {
        const wait = this.backoff.failed(peer)
        this.c.log('%s not reached; next try in %d ms', peer, wait)
      }
    }
  }

  private async attempt (peer: string): Promise<void> {
    const node = this.c.node()
    const id = peerIdFromString(peer)
    const addrs = addrsOf(peer, this.c.devices()[peer]?.addrs ?? [], this.c.log)
    if (addrs.length > 0) {
      try {
        await node.dial(addrs, { signal: AbortSignal.timeout(DEFAULT_DIAL_TIMEOUT_MS) })
        return
      } catch (err) {
        this.c.log('dialing %s at %s failed: %s', peer, addrs.join(','), toError(err).message)
      }
    }
    // addresses learnt from mDNS or the DHT live in the peer store
    const direct = await node.dial(id, { signal: AbortSignal.timeout(DEFAULT_DIAL_TIMEOUT_MS) }).then(() => true, err => {
      this.c.log('dialing %s failed: %s', peer, toError(err).message)
      return false
    })
    if (!direct && !this.c.isConnected(peer)) await dialViaRelays(node, peer, {
      relays: this.c.relays(peer).filter(r => r !== peer && this.c.isConnected(r)),
      log: this.c.log,
      onLimit: relay => { this.c.relayLimited?.(peer, relay) }
    })
  }
}

/** `peer`'s configured addresses that parse, each ending in /p2p/<peer>; others are logged and skipped */
export function addrsOf (peer: string, addrs: readonly unknown[], log: Logger): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const a of addrs) {
    if (typeof a !== 'string') continue
    try {
      const ma = multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${peer}`)
      // an address naming another device would reach someone else (or fail the handshake)
      if (!ma.toString().endsWith(`/p2p/${peer}`)) continue
      out.push(ma)
    } catch (err) {
      log('skipping address %s of %s: %s', a, peer, toError(err).message)
    }
  }
  return out
}
