import type { Connection, Startable, Stream } from '@libp2p/interface'
import { handleAll, unhandleAll, type ProtocolRegistrar } from './registrar.ts'

export interface ProtocolServiceOptions {
  registrar: ProtocolRegistrar
  /** every protocol id (version) the service answers; one handler serves them all */
  protocols: readonly string[]
  maxInboundStreams: number
  /** also serve streams on limited (relayed, data- or time-capped) connections; default false */
  runOnLimitedConnection?: boolean
}

/**
 * The lifecycle every protocol service shares (libp2p's `Startable`): while started, its handler
 * is registered for each of its protocol ids and `serve` answers each inbound stream; `stop`
 * unregisters them, so a stopped service refuses new streams in protocol negotiation.
 */
export abstract class ProtocolService implements Startable {
  readonly protocols: readonly string[]
  private readonly registrar: ProtocolRegistrar
  private readonly maxInboundStreams: number
  private readonly runOnLimitedConnection: boolean
  private started = false

  constructor (options: ProtocolServiceOptions) {
    this.protocols = options.protocols
    this.registrar = options.registrar
    this.maxInboundStreams = options.maxInboundStreams
    this.runOnLimitedConnection = options.runOnLimitedConnection ?? false
  }

  async start (): Promise<void> {
    await handleAll(this.registrar, this.protocols, async (stream, connection) => { await this.serve(stream, connection) }, { maxInboundStreams: this.maxInboundStreams, ...(this.runOnLimitedConnection ? { runOnLimitedConnection: true } : {}) })
    this.started = true
  }

  async stop (): Promise<void> {
    await unhandleAll(this.registrar, this.protocols)
    this.started = false
  }

  isStarted (): boolean {
    return this.started
  }

  /** answers one inbound stream of `connection` */
  protected abstract serve (stream: Stream, connection: Connection): Promise<void>
}
