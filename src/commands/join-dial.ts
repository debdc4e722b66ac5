import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import { FerryError } from '../errors.ts'
import { toError } from '../../protocols/wire/errors.ts'
import type { PairingCode } from '../sharing/pairing-code.ts'

export const DEFAULT_JOIN_DIAL_TIMEOUT_MS = 15_000
/** the code's direct addresses get this long when a relay is there to fall back on */
export const DEFAULT_JOIN_DIRECT_DIAL_TIMEOUT_MS = 5_000

export interface JoinRoutes {
  /** the inviter's own addresses */
  direct: Multiaddr[]
  /** circuits to the inviter through a relay: `<relay addr>/p2p/<relay>/p2p-circuit/p2p/<inviter>` */
  relayed: Multiaddr[]
  /** the ids of those relays (the joiner's node must let itself dial them) */
  relays: string[]
}

const isCircuit = (a: string): boolean => a.includes('/p2p-circuit')

/**
 * Where a code's inviter can be reached: its direct addresses, then circuits through relays (the
 * relayed addresses it listed, and the code's relay). A WebRTC address needs a relayed
 * signalling connection the joiner cannot make yet: left out.
 */
export function joinRoutes (code: PairingCode): JoinRoutes {
  const at = (a: string): string => `${a.replace(/\/p2p\/[^/]+$/, '')}/p2p/${code.device}`
  const circuits = code.addrs.filter(a => isCircuit(a) && !a.includes('/webrtc')).map(at)
  if (code.relay !== undefined && multiaddr(code.relay).getComponents().some(c => c.name === 'p2p')) circuits.push(`${code.relay}/p2p-circuit/p2p/${code.device}`)
  const relayed = [...new Set(circuits)].map(a => multiaddr(a))
  const relays = [...new Set(relayed.map(a => a.toString().split('/p2p-circuit')[0]!).map(base => multiaddr(base).getComponents().filter(c => c.name === 'p2p').at(-1)?.value).filter((id): id is string => id !== undefined))]
  return { direct: code.addrs.filter(a => !isCircuit(a)).map(a => multiaddr(at(a))), relayed, relays }
}

/**
 * Connects `node` to the inviter: its direct addresses first, then each relay in turn. Throws
 * ERR_FERRY_UNREACHABLE with every reason when none works.
 */
export async function reachInviter (node: Libp2p, routes: JoinRoutes): Promise<void> {
  const failures: string[] = []
  if (routes.direct.length > 0) {
    try {
      await node.dial(routes.direct, { signal: AbortSignal.timeout(routes.relayed.length > 0 ? DEFAULT_JOIN_DIRECT_DIAL_TIMEOUT_MS : DEFAULT_JOIN_DIAL_TIMEOUT_MS) })
      return
    } catch (err) {
      failures.push(`at ${routes.direct.map(a => a.toString().replace(/\/p2p\/[^/]+$/, '')).join(', ')}: ${toError(err).message}`)
    }
  }
  for (const addr of routes.relayed) {
    try {
      await node.dial(addr, { signal: AbortSignal.timeout(DEFAULT_JOIN_DIAL_TIMEOUT_MS) })
      return
    } catch (err) {
      failures.push(`through relay ${addr.toString().split('/p2p-circuit')[0]!}: ${toError(err).message}`)
    }
  }
  throw new FerryError(`could not reach the inviting device ${failures.join('; ')}`, 'ERR_FERRY_UNREACHABLE', 'its daemon must be running and reachable')
}
