import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  compareVersions, mergeVersions, bumpVersion, dominates, type VersionVector
} from '../../src/model/version-vector.ts'

const SEED = 0x5eed

// device ids look like peer ids in practice; keep the alphabet small so entries collide often
const arbDevice = fc.constantFrom('A', 'B', 'C', 'D', 'E')
const arbVector: fc.Arbitrary<VersionVector> = fc.dictionary(arbDevice, fc.nat({ max: 20 }))

describe('compareVersions', () => {
  it('equal', () => {
    expect(compareVersions({}, {})).toBe('equal')
    expect(compareVersions({ A: 1, B: 2 }, { B: 2, A: 1 })).toBe('equal')
  })

  it('treats a missing entry as zero', () => {
    expect(compareVersions({ A: 0 }, {})).toBe('equal')
    expect(compareVersions({}, { A: 0 })).toBe('equal')
    expect(compareVersions({ A: 3, B: 0 }, { A: 3, C: 0 })).toBe('equal')
  })

  it('greater', () => {
    expect(compareVersions({ A: 2 }, { A: 1 })).toBe('greater')
    expect(compareVersions({ A: 1 }, {})).toBe('greater')
    expect(compareVersions({ A: 1, B: 1 }, { A: 1 })).toBe('greater')
    expect(compareVersions({ A: 1, B: 1 }, { A: 1, B: 0 })).toBe('greater')
    expect(compareVersions({ A: 5, B: 3 }, { A: 4, B: 3, C: 0 })).toBe('greater')
  })

  it('lesser', () => {
    expect(compareVersions({ A: 1 }, { A: 2 })).toBe('lesser')
    expect(compareVersions({}, { A: 1 })).toBe('lesser')
    expect(compareVersions({ A: 1 }, { A: 1, B: 1 })).toBe('lesser')
    expect(compareVersions({ A: 1, B: 0 }, { A: 1, B: 1 })).toBe('lesser')
  })

  it('concurrent', () => {
    expect(compareVersions({ A: 2, B: 1 }, { A: 1, B: 2 })).toBe('concurrent')
    expect(compareVersions({ A: 1 }, { B: 1 })).toBe('concurrent')
    expect(compareVersions({ A: 1, C: 0 }, { B: 1 })).toBe('concurrent')
    expect(compareVersions({ A: 2 }, { A: 1, B: 1 })).toBe('concurrent')
  })

  it('is antisymmetric (property)', () => {
    const flip = { equal: 'equal', greater: 'lesser', lesser: 'greater', concurrent: 'concurrent' } as const
    fc.assert(fc.property(arbVector, arbVector, (a, b) => {
      expect(compareVersions(b, a)).toBe(flip[compareVersions(a, b)])
    }), { seed: SEED, numRuns: 500 })
  })

  it('dominates is strict', () => {
    expect(dominates({ A: 2 }, { A: 1 })).toBe(true)
    expect(dominates({ A: 1 }, { A: 1 })).toBe(false)
    expect(dominates({ A: 1 }, { B: 1 })).toBe(false)
  })
})

describe('mergeVersions', () => {
  it('takes the maximum of each entry', () => {
    expect(mergeVersions({ A: 3, B: 1 }, { B: 4, C: 2 })).toEqual({ A: 3, B: 4, C: 2 })
  })

  it('does not modify its inputs', () => {
    const a = { A: 1 }
    const b = { A: 2, B: 1 }
    mergeVersions(a, b)
    expect(a).toEqual({ A: 1 })
    expect(b).toEqual({ A: 2, B: 1 })
  })

  it('dominates or equals both inputs, and is the least such vector (property)', () => {
    fc.assert(fc.property(arbVector, arbVector, (a, b) => {
      const m = mergeVersions(a, b)
      expect(['greater', 'equal']).toContain(compareVersions(m, a))
      expect(['greater', 'equal']).toContain(compareVersions(m, b))
      // least: every entry equals one of the inputs' entries
      for (const [device, counter] of Object.entries(m)) {
        expect(counter).toBe(Math.max(a[device] ?? 0, b[device] ?? 0))
      }
      // commutative and idempotent
      expect(compareVersions(m, mergeVersions(b, a))).toBe('equal')
      expect(compareVersions(mergeVersions(m, a), m)).toBe('equal')
    }), { seed: SEED, numRuns: 500 })
  })
})

describe('bumpVersion', () => {
  it('sets the entry when the counter grows', () => {
    const v = { A: 1 }
    expect(bumpVersion(v, 'A', 5)).toEqual({ A: 5 })
    expect(bumpVersion(v, 'B', 1)).toEqual({ A: 1, B: 1 })
    expect(v).toEqual({ A: 1 })
    expect(compareVersions(bumpVersion(v, 'A', 2), v)).toBe('greater')
  })

  it('refuses a counter that does not grow', () => {
    expect(() => bumpVersion({ A: 3 }, 'A', 3)).toThrow(RangeError)
    expect(() => bumpVersion({ A: 3 }, 'A', 2)).toThrow(RangeError)
    expect(() => bumpVersion({}, 'A', 0)).toThrow(RangeError)
    expect(() => bumpVersion({ A: 0 }, 'A', 0)).toThrow(RangeError)
  })
})
