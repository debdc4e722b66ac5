import { flushCompileCache } from 'node:module'
import { NodeEvents } from '../events/node-events.ts'
import type { MetricsListen } from '../metrics/metrics-server.ts'
import type { RateLimits } from '../config/config-types.ts'
import type { StunListen } from '../../relay/stun-server.ts'
import { nodeOutput, type LogOptions } from './log-flags.ts'
import { reexecWithFewMallocArenas } from './malloc-arenas.ts'
import { out } from './output.ts'
import { ProgressView } from './progress-view.ts'

/** `ferry start`: the device's daemon, parsed and checked */
export interface DaemonRunOptions {
  home: string
  listen?: string[]
  mdns: boolean
  apiPort: number
  /** --max-upload / --max-download: over the config's daemon-wide limits for this run */
  limits: RateLimits
  logs: LogOptions
}

/** `ferry relay`: the relay node, parsed and checked */
export interface RelayRunOptions {
  home: string
  listen?: string[]
  retentionDays?: number
  metricsListen?: MetricsListen
  /** false: no STUN responder; undefined: the default address */
  stun?: StunListen | false
  relayLimits: { rateBytesPerSecond?: number, dailyBytes?: number }
  /** storage per device unless set for it; absent: unlimited */
  quotaBytes?: number
  logs: LogOptions
}

async function waitForSignal (say: (line: string) => void): Promise<void> {
  await new Promise<void>(resolve => {
    const onSignal = (sig: string): void => {
      say(`${sig}: shutting down`)
      resolve()
    }
    process.once('SIGINT', () => onSignal('SIGINT'))
    process.once('SIGTERM', () => onSignal('SIGTERM'))
  })
}

/** runs the relay until SIGINT/SIGTERM */
export async function runRelay (opts: RelayRunOptions): Promise<number> {
  reexecWithFewMallocArenas()
  const { RelayNode } = await import('../../relay/relay-node.ts')
  flushCompileCache()
  const events = new NodeEvents()
  const { say } = nodeOutput(events, opts.logs, { print: out, update: () => {} })
  const relay = await RelayNode.open({
    home: opts.home,
    ...(opts.listen === undefined ? {} : { listen: opts.listen }),
    ...(opts.retentionDays === undefined ? {} : { retentionDays: opts.retentionDays }),
    ...(opts.metricsListen === undefined ? {} : { metricsListen: opts.metricsListen }),
    ...(opts.stun === undefined ? {} : { stun: opts.stun }),
    relayLimits: opts.relayLimits,
    ...(opts.quotaBytes === undefined ? {} : { quotaBytes: opts.quotaBytes }),
    processMetrics: true,
    events
  })
  return await runUntilSignal(relay, 'ferry relay', say)
}

/** runs the device's daemon until SIGINT/SIGTERM */
export async function runDaemon (opts: DaemonRunOptions): Promise<number> {
  reexecWithFewMallocArenas()
  // loaded on demand: the other commands start fast without libp2p
  const { Daemon } = await import('../daemon/daemon.ts')
  // the daemon's modules are in the compile cache now, not only at exit: the next start needs no type stripping
  flushCompileCache()
  const view = new ProgressView(process.stdout, { tty: process.stdout.isTTY === true })
  const events = new NodeEvents()
  const { say } = nodeOutput(events, opts.logs, view)
  const daemon = await Daemon.open({
    home: opts.home,
    ...(opts.listen === undefined ? {} : { listen: opts.listen }),
    mdns: opts.mdns,
    // a port forward from the home router (UPnP); FERRY_UPNP=0 turns it off
    upnp: process.env.FERRY_UPNP !== '0',
    apiPort: opts.apiPort,
    limits: opts.limits,
    processMetrics: true,
    // how often every folder is walked in full (default 60 s); for tests and tuning
    ...(process.env.FERRY_RESCAN_INTERVAL_MS === undefined ? {} : { rescanIntervalMs: Math.max(100, Number(process.env.FERRY_RESCAN_INTERVAL_MS) || 60_000) }),
    events
  })
  return await runUntilSignal(daemon, 'ferry', say)
}

/** starts `node`, runs it until SIGINT/SIGTERM, stops it; the same lines for a daemon and a relay */
async function runUntilSignal (node: { start: () => Promise<void>, stop: () => Promise<void> }, name: string, say: (line: string) => void): Promise<number> {
  await node.start()
  say(`${name} running; stop with Ctrl-C`)
  await waitForSignal(say)
  await node.stop()
  say('stopped')
  return 0
}
