import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { encode } from 'cborg'
import { encodeRecordFields, type RecordFields } from '../../src/log/record-encoder.ts'

/** integers around every CBOR head boundary, and anywhere up to 2^53 */
const uint = fc.oneof(
  fc.constantFrom(0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1),
  fc.integer({ min: 0, max: 70_000 }),
  fc.maxSafeNat()
)
const long = fc.tuple(fc.constantFrom('a', 'é', '€', '😀'), fc.integer({ min: 16_380, max: 65_540 })).map(([c, n]) => c.repeat(Math.ceil(n / c.length)))
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 300 }), long)
const fields: fc.Arbitrary<RecordFields> = fc.tuple(
  uint, text, text, uint, text, uint, uint, uint, uint, fc.boolean(), text,
  fc.array(fc.tuple(text, uint), { maxLength: 30 }),
  fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), uint), { maxLength: 30 })
)

describe('record encoder', () => {
  it('writes exactly the bytes cborg makes of the same field array', () => {
    fc.assert(fc.property(fields, f => {
      const mine = encodeRecordFields(f)
      const reference = encode(f)
      // (compared as buffers: a deep equality of long byte arrays is very slow)
      return mine !== undefined && Buffer.compare(mine, reference) === 0
    }), { numRuns: 1000, seed: 3 })
  })

  it('leaves to cborg what records never hold (negative or fractional numbers, lone surrogates)', () => {
    const base: RecordFields = [1, 'f', 'd', 1, 'p', 0, 0, 0o644, 0, false, 'd', [], []]
    expect(encodeRecordFields(base)).toEqual(new Uint8Array(encode(base)))
    for (const bad of [[1, 'f', 'd', -1], [1, 'f', 'd', 1.5], [1, 'f', '\uD800', 1]]) {
      const f = [...bad, ...base.slice(bad.length)] as unknown as RecordFields
      expect(encodeRecordFields(f)).toBeUndefined()
    }
  })
})
