import type { Stream } from '@libp2p/interface'

/** what the relay carries for one member at most, by default: bytes per second and per UTC day */
export const DEFAULT_RELAY_RATE_BYTES_PER_SECOND = 8 * 1024 * 1024
export const DEFAULT_RELAY_DAILY_BYTES = 10 * 1024 * 1024 * 1024
/** a paused relayed stream buffers at most this much before libp2p resets it (above a yamux window) */
const PAUSED_READ_BUFFER_BYTES = 16 * 1024 * 1024

export interface RelayLimitOptions {
  rateBytesPerSecond?: number
  dailyBytes?: number
  /** a member used up its day's bytes (once per member and day) */
  onLimit?: (member: string, detail: { bytesToday: number, dailyBytes: number }) => void
  now?: () => number
}

interface Account { day: string, bytesToday: number, tokens: number, refilledAt: number, limited: boolean, streams: Set<Stream> }

/** A member's relayed traffic today (UTC) and whether it hit its daily limit. */
export interface RelayUsage { bytesToday: number, limited: boolean }

/** The daily limit was reached: the relayed connection ends with this reason. */
export class RelayLimitError extends Error {
  readonly code = 'ERR_FERRY_RELAY_LIMIT'
  constructor (member: string, dailyBytes: number) {
    super(`relay limit: ${member} relayed its ${dailyBytes} bytes for today`)
    this.name = 'RelayLimitError'
  }
}

/**
 * Per-member accounting of circuit-relay traffic (relayed connections between devices; never the
 * relay's own protocols). Each relayed byte is charged to the member that sent it: the stream it
 * arrives on (the dialer's hop stream, the destination's stop stream) is `watch`ed for that
 * member. Above the rate the stream is paused until the member's token bucket refills (its sender
 * is slowed by flow control, nothing piles up here); past the daily bytes every relayed stream of
 * the member is aborted and new relayed connections are refused until the next UTC day.
 */
export class RelayLimits {
  readonly rateBytesPerSecond: number
  readonly dailyBytes: number
  private readonly accounts = new Map<string, Account>()
  private readonly opts: RelayLimitOptions
  private readonly now: () => number

  constructor (opts: RelayLimitOptions = {}) {
    this.opts = opts
    this.rateBytesPerSecond = opts.rateBytesPerSecond ?? DEFAULT_RELAY_RATE_BYTES_PER_SECOND
    this.dailyBytes = opts.dailyBytes ?? DEFAULT_RELAY_DAILY_BYTES
    this.now = opts.now ?? Date.now
  }

  private account (member: string): Account {
    const day = new Date(this.now()).toISOString().slice(0, 10)
    let a = this.accounts.get(member)
    if (a === undefined) {
      a = { day, bytesToday: 0, tokens: this.rateBytesPerSecond, refilledAt: this.now(), limited: false, streams: new Set() }
      this.accounts.set(member, a)
    } else if (a.day !== day) {
      a.day = day
      a.bytesToday = 0
      a.limited = false
    }
    return a
  }

  usage (member: string): RelayUsage {
    const a = this.account(member)
    return { bytesToday: a.bytesToday, limited: a.limited }
  }

  /** whether `member` may open a relayed connection now */
  allows (member: string): boolean {
    return !this.account(member).limited
  }

  /** counts (and limits) what `member` sends on `stream`, a relayed stream */
  watch (stream: Stream, member: string): void {
    const a = this.account(member)
    if (a.limited) { stream.abort(new RelayLimitError(member, this.dailyBytes)); return }
    a.streams.add(stream)
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, PAUSED_READ_BUFFER_BYTES)
    stream.addEventListener('message', evt => { this.charge(stream, member, evt.data.byteLength) })
    stream.addEventListener('close', () => { a.streams.delete(stream) }, { once: true })
  }

  private charge (stream: Stream, member: string, bytes: number): void {
    const a = this.account(member)
    a.bytesToday += bytes
    if (a.bytesToday > this.dailyBytes) {
      if (!a.limited) {
        a.limited = true
        this.opts.onLimit?.(member, { bytesToday: a.bytesToday, dailyBytes: this.dailyBytes })
      }
      const err = new RelayLimitError(member, this.dailyBytes)
      for (const s of a.streams) s.abort(err)
      a.streams.clear()
      return
    }
    const now = this.now()
    a.tokens = Math.min(this.rateBytesPerSecond, a.tokens + (now - a.refilledAt) * this.rateBytesPerSecond / 1000)
    a.refilledAt = now
    a.tokens -= bytes
    if (a.tokens < 0 && stream.readStatus === 'readable') {
      stream.pause()
      setTimeout(() => { if (stream.readStatus === 'paused') stream.resume() }, Math.ceil(-a.tokens * 1000 / this.rateBytesPerSecond)).unref()
    }
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3, t: 1e12, tb: 1e12, tib: 1024 ** 4 }

/** '8MiB', '10GiB', '500kB', '1048576' (and, for a rate, '8MiB/s') -> bytes; throws a one-line message */
export function parseByteSize (option: string, v: string, opts: { rate?: boolean } = {}): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim().replace(opts.rate === true ? /\/s$/i : /$^/, ''))
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()]
  const n = m === null || unit === undefined ? NaN : Math.floor(Number(m[1]) * unit)
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${option} takes a size like ${opts.rate === true ? '8MiB/s' : '10GiB'} (at least 1 byte), not ${JSON.stringify(v)}`)
  return n
}
