import fc from 'fast-check'
import { encode } from 'cborg'
import { FerryError } from '../../src/errors.ts'

/**
 * Shared pieces of the fuzz suite. `npm test` runs each target FUZZ_RUNS times (default 2,000);
 * `npm run fuzz` sets FUZZ_RUNS=100000. Seeds are fixed: a failure names its seed and path, and
 * the same run reproduces it.
 */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000)
/** a long run takes minutes per target */
export const TIMEOUT_MS = Math.max(120_000, RUNS * 20)

export function params (seed: number): fc.Parameters<unknown> {
  return { numRuns: RUNS, seed, endOnFailure: true }
}

/** counts of what the decoder did, printed at the end of a target (the report's numbers) */
export interface Tally { runs: number, accepted: number, rejected: number, codes: Map<string, number> }
export function tally (): Tally { return { runs: 0, accepted: 0, rejected: 0, codes: new Map() } }
export function report (name: string, t: Tally): void {
  const codes = [...t.codes].map(([c, n]) => `${c} ${n}`).join(', ')
  console.log(`fuzz ${name}: ${t.runs} inputs, ${t.accepted} accepted, ${t.rejected} rejected (${codes})`)
}

/**
 * Runs `fn` on one input: it must return, or throw a FerryError with a code (a typed
 * rejection). Anything else (TypeError, RangeError, a plain Error) fails the property.
 */
export function typedOutcome (t: Tally, fn: () => unknown): void {
  t.runs++
  try {
    fn()
    t.accepted++
  } catch (err) {
    record(t, err)
  }
}

export async function typedOutcomeAsync (t: Tally, fn: () => Promise<unknown>): Promise<void> {
  t.runs++
  try {
    await fn()
    t.accepted++
  } catch (err) {
    record(t, err)
  }
}

function record (t: Tally, err: unknown): void {
  if (!(err instanceof FerryError) || typeof err.code !== 'string' || !err.code.startsWith('ERR_')) {
    throw new Error(`untyped rejection: ${err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err)}`)
  }
  t.rejected++
  t.codes.set(err.code, (t.codes.get(err.code) ?? 0) + 1)
}

/** values strict CBOR can carry (no undefined, no bigints): what a peer can put in a message */
export const cborValue: fc.Arbitrary<unknown> = fc.letrec(tie => ({
  leaf: fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('', 'docs', 'join', 'err', 'want', 'recs', 'hello', 'blk', 'read-only', 'garbage', '/ip4/1.2.3.4/tcp/1', '/p2p/notapeer', '__proto__', 'constructor'),
    fc.integer(),
    fc.constantFrom(0, -1, 1, 2 ** 53, -(2 ** 53), 2 ** 32, 1.5, Number.MAX_SAFE_INTEGER, Number.NaN, Infinity),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.uint8Array({ minLength: 36, maxLength: 36 }).map(b => { b.set([0x01, 0x55, 0x12, 0x20]); return b })
  ),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 6 }),
  object: fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 4 })
})).node

type Op = 'replace' | 'delete' | 'insert' | 'keep'

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)

/**
 * `v` (a copy) with the node at `path` changed by `op`: each step picks an array element (index
 * modulo the length) or an object member (the n-th key, modulo their number).
 */
export function mutate (v: unknown, path: readonly number[], op: Op, value: unknown): unknown {
  if (op === 'keep') return v
  const root = structuredClone(v)
  let parent: unknown[] | Record<string, unknown> | undefined
  let at: number | string = 0
  let node: unknown = root
  for (const step of path) {
    if (Array.isArray(node) && node.length > 0) {
      parent = node
      at = step % node.length
      node = node[at]
    } else if (isPlainObject(node) && Object.keys(node).length > 0) {
      const keys = Object.keys(node)
      parent = node
      at = keys[step % keys.length]!
      node = node[at]
    } else break
  }
  if (parent === undefined) return op === 'replace' ? value : root
  if (Array.isArray(parent)) {
    const i = at as number
    if (op === 'replace') parent[i] = value
    else if (op === 'delete') parent.splice(i, 1)
    else parent.splice(i, 0, value)
  } else {
    const k = at as string
    if (op === 'replace') parent[k] = value
    else if (op === 'delete') Reflect.deleteProperty(parent, k)
    else parent[`${k}x`] = value
  }
  return root
}

/**
 * Inputs for a decoder of CBOR-array messages, as bytes on the wire: arbitrary bytes, valid
 * messages (`valid`), valid messages with one node replaced, removed or added (valid CBOR,
 * wrong shape or types: these reach the decoder's field checks), and valid encodings with
 * bytes flipped or cut.
 */
export function wireInputs (valid: ReadonlyArray<readonly unknown[]>): fc.Arbitrary<Uint8Array> {
  const sample = fc.constantFrom(...valid)
  const structural = fc.tuple(sample, fc.array(fc.nat(), { maxLength: 4 }), fc.constantFrom<Op>('replace', 'replace', 'delete', 'insert', 'keep'), cborValue)
    .map(([v, path, op, value]) => encode(mutate(v, path, op, value)))
  const bytewise = fc.tuple(sample, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.option(fc.nat()))
    .map(([v, flips, cut]) => {
      const bytes = new Uint8Array(encode(v))
      for (const [i, b] of flips) if (bytes.length > 0) bytes[i % bytes.length] = b
      return cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1))
    })
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 2 },
    { arbitrary: cborValue.map(v => encode(v)), weight: 1 },
    { arbitrary: structural, weight: 5 },
    { arbitrary: bytewise, weight: 2 }
  )
}
