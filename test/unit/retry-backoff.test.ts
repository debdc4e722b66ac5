import { describe, expect, it } from 'vitest'
import { RetryBackoff } from '../../src/sync/retry-backoff.ts'

describe('retry backoff', () => {
  it('doubles the wait per failure up to the cap, per path, and a clear ends it', () => {
    const b = new RetryBackoff(1000, 60_000)
    const t0 = 1_000_000
    const delays = Array.from({ length: 9 }, () => b.failed('p', false, t0))
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000])
    expect(b.ready('p', t0 + 59_999)).toBe(false)
    expect(b.ready('p', t0 + 60_000)).toBe(true)
    expect(b.ready('other', t0)).toBe(true)
    expect(b.nextDue(t0)).toBe(t0 + 60_000)
    b.clear('p')
    expect(b.ready('p', t0)).toBe(true)
    expect(b.nextDue(t0)).toBeUndefined()
  })

  it('a peer connecting ends only the waits of actions that found no peer', () => {
    const b = new RetryBackoff(1000, 60_000)
    b.failed('blocks', true, 0)
    b.failed('refused', false, 0)
    b.clearWaitingForPeers()
    expect(b.ready('blocks', 1)).toBe(true)
    expect(b.ready('refused', 1)).toBe(false)
  })
})
