import type { Connection, PeerId, Stream, StreamHandler, StreamHandlerOptions, Topology } from '@libp2p/interface'
import { FerryError } from '../errors.ts'

import { proxyWith, withComponents } from './proxy-with.ts'
/** A stream from a device we do not trust, on a protocol other than the join protocol. */
export class StrangerStreamError extends FerryError {
  constructor (protocol: string) {
    super(`${protocol} is for trusted devices only`, 'ERR_FERRY_NOT_TRUSTED')
  }
}

export type IsTrusted = (peer: string) => boolean

/**
 * `handler`, except that a stream from a device `isTrusted` refuses is aborted before the
 * handler sees it. While an invitation is pending the gater lets any device connect (to join):
 * every protocol but /ferry/join/1 is wrapped in this.
 */
export function onlyTrusted (isTrusted: IsTrusted, handler: StreamHandler): StreamHandler {
  return (stream: Stream, connection: Connection) => {
    if (isTrusted(connection.remotePeer.toString())) return handler(stream, connection)
    stream.abort(new StrangerStreamError(stream.protocol ?? 'this protocol'))
  }
}

interface RegistrarLike {
  handle: (protocol: string | string[], handler: StreamHandler, options?: StreamHandlerOptions) => Promise<void>
  register?: (protocol: string, topology: Topology) => Promise<string>
}

/**
 * `registrar` with every `handle` going through `onlyTrusted` and every topology's `onConnect`
 * told of trusted devices only (the DHT adds peers to its routing table there).
 */
export function trustedRegistrar<R extends RegistrarLike> (registrar: R, isTrusted: IsTrusted): R {
  return proxyWith(registrar, {
    handle: async (protocol: string | string[], handler: StreamHandler, options?: StreamHandlerOptions) => { await registrar.handle(protocol, onlyTrusted(isTrusted, handler), options) },
    register: async (protocol: string, topology: Topology) => {
      const onConnect = topology.onConnect
      const guarded = onConnect === undefined ? topology : proxyWith(topology, { onConnect: (peer: PeerId, conn: Connection) => isTrusted(peer.toString()) ? onConnect.call(topology, peer, conn) : undefined })
      return await registrar.register?.(protocol, guarded)
    }
  })
}

/**
 * A libp2p service or transport factory whose stream handlers and topologies (what it learns of
 * peers that connect) see trusted devices only: its `components.registrar` is wrapped
 * (`trustedRegistrar`). The rest of `components` is passed through.
 */
export function trustedOnly<C extends object, T> (factory: (components: C) => T, isTrusted: IsTrusted): (components: C) => T {
  return (components: C) => {
    const guarded = trustedRegistrar((components as { registrar: RegistrarLike }).registrar, isTrusted)
    return factory(withComponents(components, { registrar: guarded }))
  }
}

/**
 * A stranger let in for a join (a relay's circuit to an inviter, or the inviter's own join
 * protocol) gets `ms` to finish: then, unless it became trusted meanwhile, it is hung up on.
 */
export function hangUpStrangerAfter (peer: PeerId, ms: number, isTrusted: IsTrusted, hangUp: (peer: PeerId) => Promise<void> | undefined): void {
  setTimeout(() => { if (!isTrusted(peer.toString())) void hangUp(peer)?.catch(() => {}) }, ms).unref()
}
