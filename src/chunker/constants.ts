/**
 * Parameters of the content-defined chunker. Every file is cut with the same
 * parameter set so that identical content in different files produces
 * identical blocks (and therefore dedups across files).
 */
export interface ChunkerParams {
  /** No cut is ever placed before this many bytes into a chunk (except the final chunk of a stream). */
  minBytes: number
  /** Target ("normal") chunk size; must be a power of two. */
  avgBytes: number
  /** A cut is forced when a chunk reaches this size. */
  maxBytes: number
}

export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = Object.freeze({
  minBytes: 64 * 1024,
  avgBytes: 256 * 1024,
  maxBytes: 1024 * 1024
})

/** Smallest/largest accepted avgBytes exponent (the masks use log2(avg) ± 2 bits of a 32-bit hash). */
export const MIN_AVG_BITS = 6
export const MAX_AVG_BITS = 28
/** Upper bound on maxBytes: the streaming chunker buffers up to one maximal chunk. */
export const MAX_MAX_BYTES = 1024 * 1024 * 1024

/**
 * Throws an Error describing the problem when `params` is not a usable
 * parameter set: all values must be positive safe integers, avgBytes a power
 * of two in [2^6, 2^28], and minBytes < avgBytes < maxBytes <= 1 GiB.
 */
export function assertChunkerParams (params: ChunkerParams): void {
  if (params == null || typeof params !== 'object') {
    throw new Error('invalid chunker params: expected an object with minBytes, avgBytes and maxBytes')
  }
  const { minBytes, avgBytes, maxBytes } = params
  for (const [name, value] of [['minBytes', minBytes], ['avgBytes', avgBytes], ['maxBytes', maxBytes]] as const) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`invalid chunker params: ${name} must be a positive integer, got ${String(value)}`)
    }
  }
  if ((avgBytes & (avgBytes - 1)) !== 0 || avgBytes < 2 ** MIN_AVG_BITS || avgBytes > 2 ** MAX_AVG_BITS) {
    throw new Error(`invalid chunker params: avgBytes must be a power of two between ${2 ** MIN_AVG_BITS} and ${2 ** MAX_AVG_BITS}, got ${avgBytes}`)
  }
  if (!(minBytes < avgBytes)) {
    throw new Error(`invalid chunker params: minBytes (${minBytes}) must be smaller than avgBytes (${avgBytes})`)
  }
  if (!(avgBytes < maxBytes)) {
    throw new Error(`invalid chunker params: avgBytes (${avgBytes}) must be smaller than maxBytes (${maxBytes})`)
  }
  if (maxBytes > MAX_MAX_BYTES) {
    throw new Error(`invalid chunker params: maxBytes (${maxBytes}) must not exceed ${MAX_MAX_BYTES}`)
  }
}
