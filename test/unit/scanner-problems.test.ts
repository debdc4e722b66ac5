import { describe, it, expect } from 'vitest'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readFileBlocks } from '../../src/chunker/file-blocks.ts'
import { displayName } from '../../src/scanner/unsyncable-name.ts'
import { useScannerFixture, scan, put, root, store, countingReader, forgetBatches, committedPaths, T2 } from '../helpers/scanner-fixture.ts'

useScannerFixture()

/** a reader that fails on `target` as an unreadable file does (the error the OS gives for chmod 000) */
function failingReader (target: string, code = 'EACCES'): typeof readFileBlocks {
  return (path, options) => {
    if (path === join(root, target)) {
      return (async function * () { throw Object.assign(new Error(`${code}: permission denied, open '${path}'`), { code, errno: -13, syscall: 'open' }) })()
    }
    return readFileBlocks(path, options)
  }
}

describe('scanFolder: per-path problems', () => {
  it('reports each name that cannot be synced with its reason, records none, and scans the rest', async () => {
    await put('ok.txt', 'ok')
    await put('new\nline.txt', 'x')
    await put('ctl\u0001.txt', 'x')
    await put('back\\slash.txt', 'x')
    await put('cafe\u0301.txt', 'x') // NFD
    await mkdir(join(root, 'sub'))
    // not valid UTF-8: written by its bytes
    await writeFile(Buffer.concat([Buffer.from(join(root, 'sub') + '/bad'), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]), 'x')
    await put('sub/real\uFFFD.txt', 'a name really holding U+FFFD is fine')

    const reads: string[] = []
    const result = await scan({ readBlocks: countingReader(reads) })

    expect([...store.ownRecords().keys()].sort()).toEqual(['ok.txt', 'sub', 'sub/real\uFFFD.txt'])
    expect(reads.sort()).toEqual(['ok.txt', 'sub/real\uFFFD.txt'])
    const reasons = Object.fromEntries(result.problems.map(p => [p.path, p.reason]))
    expect(reasons).toEqual({
      'new\nline.txt': 'name contains a newline',
      'ctl\u0001.txt': 'name contains a control character (U+0001)',
      'back\\slash.txt': expect.stringContaining('backslash'),
      'cafe\u0301.txt': expect.stringContaining('not in NFC form'),
      'sub/bad\\xff\\xfe.txt': 'name is not valid UTF-8'
    })
    expect(new Set(result.problems.map(p => p.code))).toEqual(new Set(['ERR_FERRY_UNSYNCABLE_NAME']))
  })

  it('leaves out names the ignore rules exclude, and reports a symbolic link', async () => {
    await put('new\nline.txt', 'x')
    await symlink('/etc/passwd', join(root, 'link'))
    const result = await scan({ ignored: p => p.includes('\n') })
    expect(result.problems).toEqual([{ path: 'link', code: 'ERR_FERRY_NOT_SYNCED_TYPE', reason: 'symbolic link: not synced (never followed)' }])
  })

  it('a partial scan reports a bad name the watcher pointed at', async () => {
    await put('tab\there.txt', 'x')
    const result = await scan({ paths: ['tab\there.txt', 'gone\nname'] })
    expect(result.problems).toEqual([{ path: 'tab\there.txt', code: 'ERR_FERRY_UNSYNCABLE_NAME', reason: 'name contains a control character (U+0009)' }])
    expect(result.looked).toEqual(['tab\there.txt', 'gone\nname'])
  })

  it('an unreadable file is reported, does not stop the scan, and its record is not tombstoned', async () => {
    await put('a.txt', 'a')
    await put('secret.txt', 'secret v1')
    await scan()
    const before = store.own('secret.txt')!
    forgetBatches()
    await put('secret.txt', 'secret v2', T2)
    await put('b.txt', 'b')

    const full = await scan({ readBlocks: failingReader('secret.txt') })
    expect(full.problems).toEqual([{ path: 'secret.txt', code: 'ERR_FERRY_UNREADABLE', reason: expect.stringContaining('EACCES') }])
    expect(committedPaths()).toEqual(['b.txt'])
    expect(store.own('secret.txt')).toEqual(before)

    const partial = await scan({ paths: ['secret.txt'], readBlocks: failingReader('secret.txt', 'EIO') })
    expect(partial.problems.map(p => p.code)).toEqual(['ERR_FERRY_UNREADABLE'])
    expect(store.own('secret.txt')).toEqual(before)

    // readable again: recorded, no problem
    const again = await scan()
    expect(again.problems).toEqual([])
    expect(store.own('secret.txt')!.size).toBe('secret v2'.length)
  })

  it('an unreadable new file is reported and nothing else changes', async () => {
    await put('x.txt', 'x')
    const result = await scan({ readBlocks: failingReader('x.txt') })
    expect(result.problems.map(p => p.path)).toEqual(['x.txt'])
    expect(store.own('x.txt')).toBeUndefined()
  })

  it('shows bytes that are not UTF-8 as \\xNN, keeping the valid characters', () => {
    expect(displayName(Buffer.from([0x61, 0xc3, 0xa9, 0xff, 0xe2, 0x82, 0x62]))).toBe('a\u00e9\\xff\\xe2\\x82b')
  })
})
