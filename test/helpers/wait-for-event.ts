import { followEvents } from '../../src/api/sse-client.ts'
import type { FerryEvent } from '../../src/events/event-bus.ts'

type Home = string | { home: string }
/** the public event(s) of type `T` (some variants share fields across several types) */
export type EventOf<T extends FerryEvent['type']> = FerryEvent extends infer E ? E extends { type: infer U } ? (T extends U ? E & { type: T } : never) : never : never

export interface WaitForEventOptions {
  /** only events after this id; default 0: the daemon's replay ring counts too (an event that already happened is found) */
  sinceId?: number
}

/**
 * Follows the daemon's `GET /events` (of `home`, or a device's) until an event of `type` matching
 * `predicate` arrives, and returns it. Replayable events already in the daemon's ring count
 * (unless `sinceId` says otherwise), so an event that happened before the call is found too;
 * `transfer.progress` is not replayed. Rejects after `timeoutMs` with the event types seen.
 */
export async function waitForEvent<T extends FerryEvent['type']> (home: Home, type: T, predicate: (e: EventOf<T>) => boolean = () => true, timeoutMs = 30_000, options: WaitForEventOptions = {}): Promise<EventOf<T>> {
  const { found, seen } = await follow(home, type, predicate, timeoutMs, options)
  if (found === undefined) throw new Error(`no ${type} event matching within ${timeoutMs} ms (seen: ${seen.join(', ') || 'none'})`)
  return found
}

/**
 * Follows the daemon's events for `forMs` and fails if one of `type` matching `predicate` arrives
 * (replayed ones after `sinceId` included): proves something did not happen while the daemon ran.
 * A daemon that cannot be reached fails it too (silence from no daemon proves nothing).
 */
export async function expectNoEvent<T extends FerryEvent['type']> (home: Home, type: T, predicate: (e: EventOf<T>) => boolean = () => true, forMs = 2_000, options: WaitForEventOptions = {}): Promise<void> {
  const { found } = await follow(home, type, predicate, forMs, options)
  if (found !== undefined) throw new Error(`unexpected ${type} event: ${JSON.stringify(found)}`)
}

/** the first matching event within `timeoutMs` (undefined if none came); other failures reject */
async function follow<T extends FerryEvent['type']> (home: Home, type: T, predicate: (e: EventOf<T>) => boolean, timeoutMs: number, options: WaitForEventOptions): Promise<{ found: EventOf<T> | undefined, seen: string[] }> {
  const seen: string[] = []
  const abort = new AbortController()
  let found: EventOf<T> | undefined
  const timer = setTimeout(() => abort.abort(), timeoutMs)
  try {
    await followEvents(homeOf(home), e => {
      seen.push(e.type)
      if (found === undefined && e.type === type && predicate(e as EventOf<T>)) {
        found = e as EventOf<T>
        abort.abort()
      }
    }, { signal: abort.signal, lastEventId: options.sinceId ?? 0 })
  } finally {
    clearTimeout(timer)
  }
  return { found, seen }
}

function homeOf (home: Home): string {
  return typeof home === 'string' ? home : home.home
}
