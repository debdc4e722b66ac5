/** the furthest ahead a device may hold its join window open (the longest invitation: 30 days) */
export const DEFAULT_MAX_JOIN_WINDOW_MS = 30 * 24 * 60 * 60 * 1000

/**
 * The join windows of a relay's devices: a device with an open invitation tells its relays until
 * when it accepts joiners (/ferry/join-window/1). While a window is open, devices the relay does
 * not trust may connect to the relay, but only to open a circuit to that device (relay-node.ts).
 */
export class JoinWindows {
  private readonly until = new Map<string, number>()
  private readonly maxMs: number

  constructor (opts: { maxMs?: number } = {}) {
    this.maxMs = opts.maxMs ?? DEFAULT_MAX_JOIN_WINDOW_MS
  }

  /** `device` accepts joiners until `untilMs` (0 or past: closed); returns the time kept */
  open (device: string, untilMs: number, now = Date.now()): number {
    const kept = Math.min(untilMs, now + this.maxMs)
    if (kept <= now) { this.until.delete(device); return 0 }
    this.until.set(device, kept)
    return kept
  }

  isOpen (device: string, now = Date.now()): boolean {
    return (this.until.get(device) ?? 0) > now
  }

  anyOpen (now = Date.now()): boolean {
    for (const [device, until] of this.until) {
      if (until > now) return true
      this.until.delete(device)
    }
    return false
  }

  /** forgets the windows of devices no longer trusted */
  retain (isTrusted: (device: string) => boolean): void {
    for (const device of [...this.until.keys()]) if (!isTrusted(device)) this.until.delete(device)
  }
}
