/** the current rate is the average over this many whole seconds before the current one */
export const DEFAULT_RATE_WINDOW_S = 3

/** Bytes per second over the last few whole seconds (for status). */
export class RateMeter {
  private readonly slots = new Map<number, number>()
  private readonly now: () => number
  private readonly windowS: number

  constructor (now: () => number = () => performance.now(), windowS = DEFAULT_RATE_WINDOW_S) {
    this.now = now
    this.windowS = windowS
  }

  record (bytes: number): void {
    const s = Math.floor(this.now() / 1000)
    this.slots.set(s, (this.slots.get(s) ?? 0) + bytes)
    for (const k of this.slots.keys()) if (k < s - this.windowS) this.slots.delete(k)
  }

  bytesPerSecond (): number {
    const s = Math.floor(this.now() / 1000)
    let sum = 0
    for (let k = s - this.windowS; k < s; k++) sum += this.slots.get(k) ?? 0
    return Math.round(sum / this.windowS)
  }
}
