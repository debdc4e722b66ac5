import type { CID } from 'multiformats/cid'
import { decodeBlockCid } from '../../src/hashing/block-cid.ts'
import { InvalidMessageError } from './errors.ts'

export interface FieldReaders {
  /** throws InvalidMessageError(protocol, why) */
  bad: (why: string) => never
  /** a string of 1..max chars, else bad() */
  shortString: (v: unknown, what: string, max?: number) => string
  /** a block CID (CIDv1 raw sha2-256) in binary form, else bad() */
  cidOf: (v: unknown) => CID
}

/** The field checks every message decoder of `protocol` uses, failing with its protocol id. */
export function fieldReaders (protocol: string): FieldReaders {
  const bad = (why: string): never => { throw new InvalidMessageError(protocol, why) }
  return {
    bad,
    shortString: (v, what, max = 256) => {
      if (typeof v !== 'string' || v.length === 0 || v.length > max) bad(`${what} must be a string of 1..${max} chars`)
      return v as string
    },
    cidOf: v => {
      if (!(v instanceof Uint8Array)) return bad('cid must be bytes')
      try { return decodeBlockCid(v) } catch { return bad('not a block cid') }
    }
  }
}
