import { memory } from '@libp2p/memory'
import { ConnectionFailedError, type Connection, type Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { NodeOptions } from '../src/node/create-node.ts'

/** the multiaddr protocol code of `/memory/<name>` */
const CODE_MEMORY = 777

/**
 * The simulated network: every node's libp2p transport is @libp2p/memory's (in-process pipes),
 * wrapped so that a node can be cut off. A cut-off node dials nobody and nobody dials it, and its
 * open connections are aborted at once, as if its cable were pulled (both ends see the
 * connection drop). Partitions are per node: a node is either on the network or isolated.
 */
export class SimNetwork {
  /** unique in the process: memory listeners are keyed by address in a module-level map */
  private readonly prefix: string
  private readonly isolated = new Set<string>()
  /** open connections by the two node names they join */
  private readonly open = new Set<{ a: string, b: string, conn: Connection }>()

  constructor (prefix: string) {
    this.prefix = prefix
  }

  /** the listen address of node `name` */
  addressOf (name: string): string {
    return `/memory/${this.prefix}-${name}`
  }

  /** the transports node `name` runs with (NodeOptions.transports) */
  transportsFor (name: string): NonNullable<NodeOptions['transports']> {
    return [components => {
      const transport = memory()(components) as Transport
      const createListener = transport.createListener.bind(transport)
      transport.createListener = options => {
        tolerateMemoryAddrs(components)
        return createListener(options)
      }
      const dial = transport.dial.bind(transport)
      transport.dial = async (ma, options) => {
        const to = this.nameOf(ma)
        if (to === undefined || this.cut(name, to)) throw new ConnectionFailedError(`sim: ${name} cannot reach ${ma.toString()}`)
        const conn = await dial(ma, options)
        const entry = { a: name, b: to, conn }
        this.open.add(entry)
        conn.addEventListener('close', () => this.open.delete(entry))
        // cut off while the connection was being set up
        if (this.cut(name, to)) this.drop(entry)
        return conn
      }
      return transport
    }]
  }

  /** `name` leaves the network: its connections drop, no dial to or from it succeeds */
  isolate (name: string): void {
    this.isolated.add(name)
    for (const entry of [...this.open]) if (entry.a === name || entry.b === name) this.drop(entry)
  }

  /** `name` is back on the network (its daemon's dial loop reconnects it) */
  heal (name: string): void {
    this.isolated.delete(name)
  }

  isIsolated (name: string): boolean {
    return this.isolated.has(name)
  }

  private cut (a: string, b: string): boolean {
    return this.isolated.has(a) || this.isolated.has(b)
  }

  private drop (entry: { a: string, b: string, conn: Connection }): void {
    this.open.delete(entry)
    entry.conn.abort(new Error(`sim: ${entry.a} and ${entry.b} partitioned`))
  }

  private nameOf (ma: Multiaddr): string | undefined {
    const value = ma.getComponents().find(c => c.code === CODE_MEMORY)?.value
    const start = `${this.prefix}-`
    return value?.startsWith(start) === true ? value.slice(start.length) : undefined
  }
}

interface AddressMappings { has: (ma: Multiaddr) => boolean }

/**
 * libp2p's address manager looks every confirmed address up in its DNS and IP mappings, which
 * parse it as a network address and throw on `/memory/…` (a device's circuit address through a
 * relay listening on the memory transport: the throw happens in an event handler and ends the
 * process). Over the memory transport such an address is simply in neither mapping.
 */
function tolerateMemoryAddrs (components: unknown): void {
  const manager = (components as { addressManager?: Record<string, unknown> }).addressManager
  for (const field of ['dnsMappings', 'ipMappings']) {
    const mappings = manager?.[field] as AddressMappings | undefined
    if (mappings === undefined || typeof mappings.has !== 'function' || Object.hasOwn(mappings, 'has')) continue
    const has = mappings.has.bind(mappings)
    mappings.has = ma => {
      try { return has(ma) } catch { return false }
    }
  }
}
