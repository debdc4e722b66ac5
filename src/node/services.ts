import type { Startable } from '@libp2p/interface'

/**
 * Starts `services` in order; if one fails, the ones already started are stopped (newest
 * first) and the error is thrown. Resolves with the list, for `stopServices`.
 */
export async function startServices (services: readonly Startable[]): Promise<Startable[]> {
  const started: Startable[] = []
  try {
    for (const s of services) {
      await s.start()
      started.push(s)
    }
  } catch (err) {
    await stopServices(started).catch(() => {})
    throw err
  }
  return started
}

/** Stops `services` newest first; every one is stopped even if an earlier stop fails (the first error is thrown). */
export async function stopServices (services: readonly Startable[]): Promise<void> {
  let failure: unknown
  for (const s of [...services].reverse()) {
    try { await s.stop() } catch (err) { failure ??= err }
  }
  if (failure !== undefined) throw failure
}
