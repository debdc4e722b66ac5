import type { Connection, Logger, Startable } from '@libp2p/interface'
import { carriesData, transportOf } from './connection-path.ts'

/** a WebRTC connection that no ping crossed within this long after it opened is closed */
export const DEFAULT_WEBRTC_PROOF_MS = 15_000

interface Components {
  events: EventTarget
  logger: { forComponent: (name: string) => Logger }
}

/**
 * A libp2p service that closes every WebRTC connection no ping crossed within `proofMs` of its
 * opening (see carriesData): until it goes, it takes the peer's new streams, and they all fail.
 */
export function webrtcWatchdog (init: { proofMs?: number } = {}): (components: Components) => Startable {
  const proofMs = init.proofMs ?? DEFAULT_WEBRTC_PROOF_MS
  return (components: Components) => {
    const log = components.logger.forComponent('ferry:node:webrtc-watchdog')
    const timers = new Set<NodeJS.Timeout>()
    const onOpen = (e: Event): void => {
      const conn = (e as CustomEvent<Connection>).detail
      if (transportOf(conn) !== 'webrtc') return
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (conn.status !== 'open' || carriesData(conn)) return
        log('closing the WebRTC connection to %p: no ping crossed it in %d ms', conn.remotePeer, proofMs)
        conn.abort(new Error(`no ping crossed the WebRTC connection in ${proofMs} ms`))
      }, proofMs)
      timer.unref()
      timers.add(timer)
    }
    return {
      start: () => { components.events.addEventListener('connection:open', onOpen) },
      stop: () => {
        components.events.removeEventListener('connection:open', onOpen)
        for (const t of timers) clearTimeout(t)
        timers.clear()
      }
    }
  }
}
