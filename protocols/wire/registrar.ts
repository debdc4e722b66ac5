import type { StreamHandler, StreamHandlerOptions } from '@libp2p/interface'

/**
 * What a protocol service needs of libp2p's registrar: `components.registrar` of a libp2p
 * service, or a libp2p node itself (its `handle`/`unhandle` take the same arguments).
 */
export interface ProtocolRegistrar {
  handle: (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) => Promise<void>
  unhandle: (protocol: string) => Promise<void>
}

/** Registers one handler for every id in `protocols` (a service serving several versions). */
export async function handleAll (registrar: ProtocolRegistrar, protocols: readonly string[], handler: StreamHandler, options: StreamHandlerOptions): Promise<void> {
  for (const protocol of protocols) await registrar.handle(protocol, handler, options)
}

/** Undoes `handleAll`. */
export async function unhandleAll (registrar: ProtocolRegistrar, protocols: readonly string[]): Promise<void> {
  for (const protocol of protocols) await registrar.unhandle(protocol)
}
