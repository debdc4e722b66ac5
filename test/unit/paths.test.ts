import { describe, expect, it } from 'vitest'
import {
  validatePath, parentPath, pathDepth, InvalidPathError, MAX_PATH_BYTES, MAX_SEGMENT_BYTES, INTERNAL_DIR
} from '../../src/model/paths.ts'
import { FerryError } from '../../src/errors.ts'

function expectInvalid (input: string): void {
  let caught: unknown
  try {
    validatePath(input)
  } catch (err) {
    caught = err
  }
  expect(caught, `expected ${JSON.stringify(input)} to be rejected`).toBeInstanceOf(InvalidPathError)
  expect(caught).toBeInstanceOf(FerryError)
  expect((caught as InvalidPathError).name).toBe('InvalidPathError')
  expect((caught as InvalidPathError).code).toBe('ERR_FERRY_INVALID_PATH')
  expect((caught as InvalidPathError).path).toBe(input)
}

describe('validatePath', () => {
  it('accepts normal nested paths unchanged', () => {
    for (const p of ['a', 'a.txt', 'dir/sub/file.bin', 'a b/c d', '.hidden', 'x/.ferryish', 'ferry/.ferry', '...', 'a/..b', 'a/b..', 'ünï/çødé', '日本語/ファイル']) {
      expect(validatePath(p)).toBe(p)
    }
  })

  it('returns the NFC form of an NFD input', () => {
    const nfd = 'cafe\u0301/re\u0301sume\u0301.txt'
    expect(nfd).not.toBe(nfd.normalize('NFC'))
    const out = validatePath(nfd)
    expect(out).toBe('caf\u00e9/r\u00e9sum\u00e9.txt')
    expect(out).toBe(out.normalize('NFC'))
  })

  it('accepts paths exactly at the length limits', () => {
    const seg = 'a'.repeat(MAX_SEGMENT_BYTES)
    expect(validatePath(seg)).toBe(seg)
    // 16 segments of 254 bytes + 16 slashes + a final segment filling up to exactly MAX_PATH_BYTES
    const segs = Array.from({ length: 16 }, () => 'c'.repeat(254))
    const atLimit = segs.join('/') + '/' + 'd'.repeat(MAX_PATH_BYTES - (16 * 254 + 16))
    expect(new TextEncoder().encode(atLimit).byteLength).toBe(MAX_PATH_BYTES)
    expect(validatePath(atLimit)).toBe(atLimit)
  })

  it.each([
    ['empty', ''],
    ['absolute', '/abs'],
    ['absolute nested', '/a/b'],
    ['drive letter', 'C:/x'],
    ['drive letter lower', 'c:x'],
    ['backslash', 'a\\b'],
    ['dot-dot in the middle', 'a/../b'],
    ['dot-dot', '..'],
    ['dot-dot leading', '../a'],
    ['dot-dot trailing', 'a/..'],
    ['dot', '.'],
    ['leading dot segment', './a'],
    ['inner dot segment', 'a/./b'],
    ['double slash', 'a//b'],
    ['trailing slash', 'a/'],
    ['NUL', 'a\u0000b'],
    ['tab', 'a\tb'],
    ['newline', 'a\nb'],
    ['carriage return', 'a\rb'],
    ['escape', 'a\u001bb'],
    ['unit separator', '\u001f'],
    ['DEL', 'a\u007fb'],
    ['internal dir', INTERNAL_DIR],
    ['inside internal dir', `${INTERNAL_DIR}/x`],
    ['deep inside internal dir', `${INTERNAL_DIR}/x/y`]
  ])('rejects %s', (_what, input) => {
    expectInvalid(input)
  })

  it('rejects over-long paths and segments', () => {
    expectInvalid('a'.repeat(MAX_SEGMENT_BYTES + 1))
    expectInvalid('x/' + 'a'.repeat(MAX_SEGMENT_BYTES + 1) + '/y')
    // multi-byte: 128 x 2-byte chars = 256 bytes although only 128 UTF-16 units
    expectInvalid('\u00e9'.repeat(128))
    const segs = Array.from({ length: 20 }, () => 'a'.repeat(250))
    const tooLong = segs.join('/')
    expect(new TextEncoder().encode(tooLong).byteLength).toBeGreaterThan(MAX_PATH_BYTES)
    expectInvalid(tooLong)
    // exactly one byte over the limit
    const over = Array.from({ length: 16 }, () => 'c'.repeat(254)).join('/') + '/' + 'd'.repeat(MAX_PATH_BYTES - (16 * 254 + 16) + 1)
    expect(new TextEncoder().encode(over).byteLength).toBe(MAX_PATH_BYTES + 1)
    expectInvalid(over)
  })

  it('rejects NFD spellings of reserved or invalid names as well', () => {
    // an NFD input that normalizes to a path containing '..' is still rejected
    expectInvalid('a/../b'.normalize('NFD'))
  })
})

describe('parentPath', () => {
  it('returns the parent or the empty string', () => {
    expect(parentPath('a')).toBe('')
    expect(parentPath('a/b')).toBe('a')
    expect(parentPath('a/b/c.txt')).toBe('a/b')
  })
})

describe('pathDepth', () => {
  it('counts segments', () => {
    expect(pathDepth('a')).toBe(1)
    expect(pathDepth('a/b')).toBe(2)
    expect(pathDepth('a/b/c.txt')).toBe(3)
  })

  it('orders a parent before its children', () => {
    const paths = ['a/b/c', 'a', 'a/b', 'z/y']
    const sorted = [...paths].sort((x, y) => pathDepth(x) - pathDepth(y))
    expect(sorted.indexOf('a')).toBeLessThan(sorted.indexOf('a/b'))
    expect(sorted.indexOf('a/b')).toBeLessThan(sorted.indexOf('a/b/c'))
  })
})
