import { multiaddr } from '@multiformats/multiaddr'
import { UsageError } from './cli-errors.ts'

const DURATION_UNITS_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** '90', '90s', '10m', '24h', '7d' -> seconds */
export function parseDuration (v: string, command?: string): number {
  const m = /^(\d{1,7})([smhd]?)$/.exec(v.trim())
  if (m === null) throw new UsageError(`--expires takes a duration like 30m, 24h or 7d, not ${JSON.stringify(v)}`, command)
  return Number(m[1]) * DURATION_UNITS_S[m[2] === '' ? 's' : m[2]!]!
}

/** --listen values: multiaddrs, checked before anything is started; none given: undefined */
export function listenAddrs (list: string[] | undefined, command?: string): string[] | undefined {
  if (list === undefined || list.length === 0) return undefined
  for (const a of list) {
    try { multiaddr(a) } catch {
      throw new UsageError(`--listen takes a multiaddr like /ip4/0.0.0.0/tcp/4001, not ${JSON.stringify(a)}`, command)
    }
  }
  return list
}

/** --api-port: 0 (any free port) when absent */
export function parsePort (v: string | undefined, command?: string): number {
  if (v === undefined) return 0
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--api-port must be a port number (0-65535), not ${JSON.stringify(v)}`, command)
  return n
}

/** --retention: days >= 0 */
export function parseRetentionDays (v: string | undefined, command?: string): number | undefined {
  if (v === undefined) return undefined
  const days = Number(v)
  if (!Number.isFinite(days) || days < 0) throw new UsageError(`--retention must be a number of days >= 0, not ${JSON.stringify(v)}`, command)
  return days
}
