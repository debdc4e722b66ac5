import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import { announceJoinWindow, JOIN_WINDOW_PROTOCOLS } from '../../protocols/join-window/index.ts'
import { toError } from '../../protocols/wire/errors.ts'

/** how long telling one relay may take in all (`ferry invite` waits for it; its control call allows 10 s) */
export const DEFAULT_ANNOUNCE_TIMEOUT_MS = 5_000

export interface JoinWindowAnnouncerComponents {
  /** a stream to a connected peer on one of `protocols` */
  openStream: (peer: string, protocols: readonly string[], signal: AbortSignal) => Promise<Stream>
  /** the trusted relays we are connected to now */
  connectedRelays: () => string[]
  /** until when we accept joiners (ms since the epoch; 0: we do not) */
  openUntil: () => number
  log: Logger
}

/**
 * Tells our relays until when this device accepts joiners (/ferry/join-window/1): a relay lets a
 * device it does not trust reach us through it only then. Told when an invitation is made or
 * used, and to each relay as it connects. A relay that does not know the protocol (an older
 * ferry) is skipped: joiners then reach us directly only.
 */
export class JoinWindowAnnouncer {
  private readonly c: JoinWindowAnnouncerComponents

  constructor (components: JoinWindowAnnouncerComponents) {
    this.c = components
  }

  /** to every connected relay */
  async announceAll (): Promise<void> {
    await Promise.all(this.c.connectedRelays().map(async relay => { await this.announce(relay) }))
  }

  /** to `relay`; failures are logged, never thrown */
  async announce (relay: string): Promise<void> {
    const until = this.c.openUntil()
    try {
      const signal = AbortSignal.timeout(DEFAULT_ANNOUNCE_TIMEOUT_MS)
      const kept = await announceJoinWindow(await this.c.openStream(relay, JOIN_WINDOW_PROTOCOLS, signal), until, { signal })
      this.c.log('join window on relay %s: until %d', relay, kept)
    } catch (err) {
      this.c.log('telling relay %s our join window failed: %s', relay, toError(err).message)
    }
  }
}
