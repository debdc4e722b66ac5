import { createHash } from 'node:crypto'

/**
 * Self-describing file contents for the chaos test: a one-line header naming the version (a
 * unique id), the device that wrote it, the body's length and the SHA-256 of the body. A reader
 * that finds a file under a real name can tell whether it holds one complete version that some
 * writer wrote, or anything else (a torn, partial or mixed file).
 */

const MAGIC = 'FERRYCHAOS'

export interface VersionHeader { id: string, writer: string, len: number, sha: string }

/** A small seeded PRNG (mulberry32): the same seed gives the same run of operations. */
export class Prng {
  private s: number
  constructor (seed: number) { this.s = seed >>> 0 }
  next (): number {
    this.s = (this.s + 0x6D2B79F5) >>> 0
    let t = this.s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int (lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)) }
  pick<T> (xs: readonly T[]): T { return xs[Math.floor(this.next() * xs.length)]! }
  chance (p: number): boolean { return this.next() < p }
  /** `n` pseudo-random bytes (fast enough for a few MiB) */
  bytes (n: number): Buffer {
    const out = Buffer.alloc(n)
    let x = (this.next() * 4294967296) >>> 0 || 1
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x >>>= 0
      x ^= x >>> 17
      x ^= x << 5; x >>>= 0
      out[i] = x & 0xff
    }
    return out
  }
}

export function encodeVersion (id: string, writer: string, body: Buffer): Buffer {
  const sha = createHash('sha256').update(body).digest('hex')
  return Buffer.concat([Buffer.from(`${MAGIC} v=${id} w=${writer} len=${body.length} sha=${sha}\n`), body])
}

/** The header and body of a complete version, or why `data` is not one. */
export function decodeVersion (data: Buffer): { header: VersionHeader, body: Buffer } | { error: string } {
  const nl = data.indexOf(10)
  if (nl < 0 || nl > 300) return { error: `no header line (${data.length} bytes)` }
  const m = /^FERRYCHAOS v=(\S+) w=(\S+) len=(\d+) sha=([0-9a-f]{64})$/.exec(data.subarray(0, nl).toString('latin1'))
  if (m === null) return { error: `bad header ${JSON.stringify(data.subarray(0, Math.min(nl, 120)).toString('latin1'))}` }
  const header = { id: m[1]!, writer: m[2]!, len: Number(m[3]), sha: m[4]! }
  const body = data.subarray(nl + 1)
  if (body.length !== header.len) return { error: `version ${header.id}: body of ${body.length} bytes, header says ${header.len}` }
  if (createHash('sha256').update(body).digest('hex') !== header.sha) return { error: `version ${header.id}: body hash differs from its header` }
  return { header, body }
}
