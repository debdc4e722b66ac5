/**
 * Padmé padding (Nikitin et al., "Reducing metadata leakage from encrypted files and
 * communication with PURBs", 2019): a length L is rounded up so that only its top
 * ~log2(log2(L)) + 1 bits stay; the overhead is at most ~12 %, and a length reveals O(log log L)
 * bits instead of log L. Sealed lengths are also never below `minBytes`.
 */
export function padmeLength (length: number, minBytes = 0): number {
  const l = Math.max(length, minBytes)
  if (l < 2) return l
  const e = Math.floor(Math.log2(l))
  const s = Math.floor(Math.log2(e)) + 1
  const unit = 2 ** Math.max(0, e - s)
  return Math.ceil(l / unit) * unit
}

/** `data` followed by zeros up to `length` bytes (the opener knows the real length) */
export function zeroPadded (data: Uint8Array, length: number): Uint8Array {
  if (length === data.byteLength) return data
  const out = new Uint8Array(length)
  out.set(data, 0)
  return out
}
