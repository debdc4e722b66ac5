/**
 * Text that compresses well but that content-defined chunking cannot dedup: CSV rows of
 * pseudo-random numbers (every row differs; the digits and separators repeat). Deterministic
 * for a seed, so a test that fails can be rerun on the same bytes.
 */
export function csvText (bytes: number, seed = 1): Uint8Array {
  let s = seed >>> 0
  const next = (): number => { // mulberry32
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = new Uint8Array(bytes)
  const enc = new TextEncoder()
  let at = 0
  let row = 0
  while (at < bytes) {
    const line = `${row++},sensor-${Math.floor(next() * 64)},${(next() * 1000).toFixed(3)},${(next() * 100 - 50).toFixed(2)},${next() < 0.5 ? 'ok' : 'warn'}\n`
    at += enc.encodeInto(line, out.subarray(at)).written
  }
  return out
}
