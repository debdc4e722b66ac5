import { describe, it, expect } from 'vitest'
import { ferryCode, PathErrors, printablePath, type PathError } from '../../src/sync/path-errors.ts'

function registry (maxListed?: number): { errors: PathErrors, events: string[], clock: { now: number } } {
  const events: string[] = []
  const clock = { now: 1_000_000 }
  const errors = new PathErrors({
    onError: (e: PathError) => events.push(`error ${e.path} ${e.code}`),
    onCleared: path => events.push(`cleared ${path}`),
    now: () => clock.now,
    ...(maxListed === undefined ? {} : { maxListed })
  })
  return { errors, events, clock }
}

describe('PathErrors', () => {
  it('announces a problem once, keeps its first time, and announces a different one', () => {
    const { errors, events, clock } = registry()
    errors.report('a.txt', 'scan', 'ERR_FERRY_UNREADABLE', 'cannot read')
    clock.now += 5000
    errors.report('a.txt', 'scan', 'ERR_FERRY_UNREADABLE', 'cannot read')
    expect(events).toEqual(['error a.txt ERR_FERRY_UNREADABLE'])
    expect(errors.list()).toEqual([{ path: 'a.txt', code: 'ERR_FERRY_UNREADABLE', reason: 'cannot read', since: 1_000_000 }])
    errors.report('a.txt', 'scan', 'ERR_FERRY_UNREADABLE', 'cannot read: EIO')
    expect(events).toHaveLength(2)
    expect(errors.get('a.txt')?.since).toBe(1_000_000) // same code: the same problem goes on
  })

  it('a full scan clears the scan problems it did not find again; a partial one only where it looked', () => {
    const { errors, events } = registry()
    errors.scanned([{ path: 'a', code: 'X', reason: 'r' }, { path: 'b', code: 'X', reason: 'r' }, { path: 'c', code: 'X', reason: 'r' }])
    errors.applyFailed('d', 'ERR_FERRY_NO_SPACE', 'no space')
    errors.scanned([], ['a', 'zzz'])
    expect(errors.list().map(e => e.path)).toEqual(['b', 'c', 'd'])
    errors.scanned([{ path: 'b', code: 'X', reason: 'r' }])
    // c is gone; d is a download's problem: a scan does not clear it
    expect(errors.list().map(e => e.path)).toEqual(['b', 'd'])
    expect(events.filter(e => e.startsWith('cleared'))).toEqual(['cleared a', 'cleared c'])
  })

  it('a failed action is kept until it succeeds or nothing is planned for its path; a scan does not clear it', () => {
    const { errors } = registry()
    errors.applyFailed('big.bin', 'ERR_FERRY_NO_SPACE', 'no space')
    errors.scanned([]) // a scan does not clear a download's problem
    expect(errors.has('big.bin')).toBe(true)
    errors.notPlanned('big.bin')
    expect(errors.has('big.bin')).toBe(false)
    errors.applyFailed('x', 'ERR_FERRY_APPLY_FAILED', 'r')
    errors.applied('x')
    expect(errors.count).toBe(0)
  })

  it('lists at most maxListed paths and counts the rest; a counted one is listed once there is room', () => {
    const { errors, events } = registry(3)
    errors.scanned(['a', 'b', 'c', 'd', 'e'].map(path => ({ path, code: 'X', reason: `bad ${path}` })))
    expect(errors.list().map(e => e.path)).toEqual(['a', 'b', 'c'])
    expect(errors.count).toBe(5)
    expect(events).toHaveLength(3) // no event for the unlisted ones
    errors.scanned(['b', 'c', 'd', 'e'].map(path => ({ path, code: 'X', reason: `bad ${path}` })))
    expect(errors.count).toBe(4)
    expect(errors.list().map(e => e.path)).toEqual(['b', 'c', 'd'])
    expect(errors.get('d')?.reason).toBe('bad d')
    errors.clear('e')
    expect(errors.count).toBe(3)
  })

  it('codes and printable paths', () => {
    expect(ferryCode(Object.assign(new Error('x'), { code: 'ERR_FERRY_NO_SPACE' }))).toBe('ERR_FERRY_NO_SPACE')
    expect(ferryCode(Object.assign(new Error('x'), { code: 'EIO' }))).toBe('ERR_FERRY_APPLY_FAILED')
    expect(printablePath('a\nb\u0001c')).toBe('a\\nb\\u0001c')
  })
})
