import { FerryError } from '../errors.ts'

/** binary and decimal units a rate may carry; a plain number is bytes per second */
const UNIT_BYTES: Record<string, number> = {
  '': 1, b: 1,
  k: 1000, kb: 1000, m: 1000 ** 2, mb: 1000 ** 2, g: 1000 ** 3, gb: 1000 ** 3,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3
}

/** the lowest limit accepted: slower than this, a 1 MiB block would outlast a peer's idle timeout */
export const MIN_BYTES_PER_SECOND = 64 * 1024

export class RateError extends FerryError {}

/**
 * '10MiB', '512KiB', '1MB', '1.5mb', '250000' (an optional '/s') -> bytes per second. Throws
 * RateError (one line) on anything else, and on a rate below MIN_BYTES_PER_SECOND.
 */
export function parseByteRate (text: string, what = 'a rate'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s)?\s*$/i.exec(text)
  const unit = m === null ? undefined : UNIT_BYTES[m[2]!.toLowerCase()]
  if (m === null || unit === undefined) {
    throw new RateError(`${what} takes bytes per second like 10MiB, 512KiB, 1MB or 250000, not ${JSON.stringify(text)}`, 'ERR_FERRY_BAD_RATE')
  }
  return checkByteRate(Math.floor(Number(m[1]) * unit), what)
}

/** a whole number of bytes per second, at least MIN_BYTES_PER_SECOND */
export function checkByteRate (bytesPerSecond: number, what = 'a rate'): number {
  if (!Number.isSafeInteger(bytesPerSecond) || bytesPerSecond < MIN_BYTES_PER_SECOND) {
    throw new RateError(`${what} must be a whole number of bytes per second, at least ${formatByteRate(MIN_BYTES_PER_SECOND)} (${MIN_BYTES_PER_SECOND}), not ${JSON.stringify(bytesPerSecond) ?? String(bytesPerSecond)}`, 'ERR_FERRY_BAD_RATE')
  }
  return bytesPerSecond
}

/** 4194304 -> '4 MiB/s'; undefined -> 'unlimited' */
export function formatByteRate (bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined) return 'unlimited'
  for (const [unit, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytesPerSecond >= n) return `${Number((bytesPerSecond / n).toFixed(2))} ${unit}/s`
  }
  return `${bytesPerSecond} B/s`
}
