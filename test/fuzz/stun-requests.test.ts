import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { stunAnswer, STUN_MAGIC_COOKIE } from '../../relay/stun-server.ts'
import { params, report, tally, TIMEOUT_MS, typedOutcome } from './fuzz-kit.ts'

/** a well-formed binding request with `attrs` (padded to 4 bytes) after the header */
function request (txid: Uint8Array, attrs: Uint8Array): Uint8Array {
  const padded = Math.ceil(attrs.byteLength / 4) * 4
  const b = new Uint8Array(20 + padded)
  const v = new DataView(b.buffer)
  v.setUint16(0, 0x0001)
  v.setUint16(2, padded)
  v.setUint32(4, STUN_MAGIC_COOKIE)
  b.set(txid, 8)
  b.set(attrs, 20)
  return b
}

const datagram = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.tuple(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 600 })).map(([t, a]) => request(t, a)),
  // a valid request with bytes flipped or cut
  fc.tuple(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 64 }), fc.nat(100), fc.integer({ min: 0, max: 255 }), fc.nat(100))
    .map(([t, a, at, x, cut]) => { const b = request(t, a); if (b.length > 0) b[at % b.length]! ^= x; return b.subarray(0, Math.max(0, b.length - cut % 8)) })
)

const sender = fc.record({
  address: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 40 }), fc.constantFrom('::ffff:1.2.3.4', '::', '::1', 'fe80::1%eth0')),
  port: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer(), fc.constant(Number.NaN))
})

describe('fuzz: STUN requests', () => {
  it('every datagram is answered with a well-formed response or ignored, never throws', () => {
    const t = tally()
    let answered = 0
    fc.assert(fc.property(datagram, sender, (input, from) => {
      typedOutcome(t, () => {
        const out = stunAnswer(input, from)
        if (out === undefined) return
        answered++
        const v = new DataView(out.buffer)
        expect(v.getUint16(0)).toBe(0x0101)
        expect(v.getUint16(2)).toBe(out.byteLength - 20)
        expect(v.getUint32(4)).toBe(STUN_MAGIC_COOKIE)
        expect(out.subarray(8, 20)).toEqual(input.subarray(8, 20))
        expect(out.byteLength === 32 || out.byteLength === 44).toBe(true)
      })
    }), params(1301))
    report('stun', t)
    expect(answered).toBeGreaterThan(0)
  }, TIMEOUT_MS)
})
