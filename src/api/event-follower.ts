import { setTimeout as sleep } from 'node:timers/promises'
import { FerryError } from '../errors.ts'
import { Backoff } from '../node/backoff.ts'
import type { FerryEvent } from '../events/event-bus.ts'
import { followEvents } from './sse-client.ts'

/** how long `ferry events` waits for a daemon that does not run yet when it starts */
export const DEFAULT_DAEMON_WAIT_MS = 60_000
/** first wait before connecting again, after the daemon went away or was not up */
export const DEFAULT_RECONNECT_BASE_MS = 200
/** the wait between attempts never grows past this */
export const DEFAULT_RECONNECT_CAP_MS = 5_000
const BACKOFF_KEY = 'daemon'

export interface FollowDaemonOptions {
  signal: AbortSignal
  /** how long to wait for the daemon when it does not run at first (0: fail at once) */
  waitMs?: number
  reconnectBaseMs?: number
  reconnectCapMs?: number
  /** the stream is open for the first time */
  onOpen?: () => void
  /** a line for the user about the stream (waiting, reconnected, events lost) */
  onNotice?: (line: string) => void
}

/**
 * Follows the daemon's events until `signal` aborts (resolves), across daemon restarts: when
 * the stream ends or breaks, it connects again with a growing delay and resumes with
 * `Last-Event-ID` after the last event it got, so the events the new daemon emitted before the
 * stream was back are replayed from its ring (a notice says when some were lost). A daemon that
 * does not run yet is waited for, up to `waitMs`, and then everything it emitted since it started
 * is replayed: the first seconds of a daemon started after `ferry events` are not missed.
 * Only a refused token, or no daemon within `waitMs` at first, ends it with an error.
 */
export async function followDaemonEvents (home: string, onEvent: (e: FerryEvent) => void, options: FollowDaemonOptions): Promise<void> {
  const { signal } = options
  const waitMs = options.waitMs ?? DEFAULT_DAEMON_WAIT_MS
  const notice = options.onNotice ?? (() => {})
  const backoff = new Backoff({ baseMs: options.reconnectBaseMs ?? DEFAULT_RECONNECT_BASE_MS, capMs: options.reconnectCapMs ?? DEFAULT_RECONNECT_CAP_MS })
  const started = Date.now()
  // the id of the last event seen; undefined until then, when the daemon ran as we came (live only)
  let cursor: number | undefined
  let connectedOnce = false
  let waitingSaid = false
  while (!signal.aborted) {
    let opened = false
    try {
      await followEvents(home, e => { cursor = e.id; onEvent(e) }, {
        signal,
        ...(cursor === undefined ? {} : { lastEventId: cursor }),
        onOpen: () => {
          opened = true
          backoff.succeeded(BACKOFF_KEY)
          if (connectedOnce) notice('reconnected to the daemon')
          else options.onOpen?.()
          connectedOnce = true
        },
        onComment: text => { if (text === 'events lost') notice('some events were lost while the stream was down (more than the daemon keeps for replay)') }
      })
      return // aborted
    } catch (err) {
      if (signal.aborted) return
      if (err instanceof FerryError && err.code === 'ERR_FERRY_UNAUTHORIZED') throw err
      if (!connectedOnce) {
        if (Date.now() - started >= waitMs) throw err instanceof FerryError ? err : new FerryError(`cannot follow the events of ${home}: ${(err as Error).message}`, 'ERR_FERRY_NO_DAEMON')
        if (!waitingSaid) notice(`waiting for the daemon of ${home} to start (up to ${Math.round(waitMs / 1000)} s)`)
        waitingSaid = true
      } else if (opened) {
        notice('the daemon stopped; waiting for it to come back')
      }
      // what a daemon emitted before the stream is (back) up is replayed from its start
      cursor ??= 0
    }
    try {
      await sleep(backoff.failed(BACKOFF_KEY), undefined, { signal })
    } catch {
      return // aborted while waiting
    }
  }
}
