import { logger } from '@libp2p/logger'

const log = logger('ferry:lifecycle')

/**
 * One part of a daemon or relay that starts and stops (a socket, a database, the libp2p node and
 * what runs on it). A part whose `start` throws leaves nothing of itself behind: it is not
 * stopped. `beforeStop` (optional) runs for every part before any part's `stop`: front doors
 * (the control socket, the HTTP API) close there, so that no request reaches a part that is
 * stopping.
 */
export interface Startable {
  /** what the part is, for the debug log (DEBUG=ferry:lifecycle) */
  readonly name: string
  start: () => Promise<void>
  stop: () => Promise<void>
  beforeStop?: () => Promise<void>
}

/**
 * Starts `parts` in order. If one fails, the parts already started are stopped (in reverse
 * order, their errors ignored) and the failure is rethrown.
 */
export async function startAll (parts: readonly Startable[]): Promise<void> {
  const started: Startable[] = []
  for (const part of parts) {
    try {
      log('starting %s', part.name)
      await part.start()
    } catch (err) {
      log('%s failed to start; stopping %d started parts', part.name, started.length)
      await stopAll(started).catch(() => {})
      throw err
    }
    started.push(part)
  }
}

/**
 * Stops `parts` in reverse order: every `beforeStop` first, then every `stop`. Each part is
 * stopped even if another one's stop failed; the first failure is rethrown at the end.
 */
export async function stopAll (parts: readonly Startable[]): Promise<void> {
  const reversed = [...parts].reverse()
  let failure: { err: unknown } | undefined
  for (const step of [(p: Startable) => p.beforeStop?.(), (p: Startable) => p.stop()]) {
    for (const part of reversed) {
      try {
        await step(part)
      } catch (err) {
        failure ??= { err }
      }
    }
  }
  if (failure !== undefined) throw failure.err
}

/** A libp2p-style service (`start`/`stop`, as every protocol under protocols/ is) as a part. */
export function asPart (name: string, service: { start: () => void | Promise<void>, stop: () => void | Promise<void> }): Startable {
  return { name, start: async () => { await service.start() }, stop: async () => { await service.stop() } }
}
