import { describe, it, expect } from 'vitest'
import { mkdtemp, readFile, stat, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { currentKey, folderKeyId, mergeKeyrings, newFolderKey, rekeyed } from '../../src/keys/folder-keyring.ts'
import { KeyringFiles } from '../../src/keys/keyring-file.ts'

describe('folder keyrings', () => {
  it('two devices that made keys apart agree on the current key after merging, either way round', () => {
    const a = { folderId: 'docs', keys: [newFolderKey()] }
    const b = { folderId: 'docs', keys: [newFolderKey()] }
    const ab = mergeKeyrings(a, b.keys)
    const ba = mergeKeyrings(b, a.keys)
    expect(ab.keys.map(k => k.id)).toEqual(ba.keys.map(k => k.id))
    expect(currentKey(ab).id).toBe(currentKey(ba).id)
    const { ring, key } = rekeyed(ab)
    expect(key.epoch).toBe(1)
    expect(currentKey(ring).id).toBe(key.id)
    expect(ring.keys).toHaveLength(3)
  })

  it('refuses a key whose id does not match it', () => {
    const k = newFolderKey()
    expect(folderKeyId(k.key)).toBe(k.id)
    expect(() => mergeKeyrings({ folderId: 'docs', keys: [] }, [{ ...k, id: '0'.repeat(32) }])).toThrow(/malformed/)
  })

  it('are kept 0600 in the home, survive a reload, and a damaged file is an error, never replaced', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ferry-keyring-'))
    try {
      const files = new KeyringFiles(home)
      expect(await files.load('docs')).toBeUndefined()
      const made = await files.ensure('docs')
      expect((await stat(join(home, 'folder-keys', 'docs.json'))).mode & 0o777).toBe(0o600)
      expect((await files.ensure('docs')).keys[0]!.id).toBe(made.keys[0]!.id)
      const other = newFolderKey()
      const merged = await files.add('docs', [other])
      expect((await files.load('docs'))!.keys.map(k => k.id)).toEqual(merged.keys.map(k => k.id))
      const path = join(home, 'folder-keys', 'docs.json')
      await writeFile(path, '{"version":1,"folderId":"docs","keys":[{"id":"x","key":"AA==","epoch":0,"createdAtMs":0}]}')
      await expect(files.ensure('docs')).rejects.toMatchObject({ code: 'ERR_FERRY_BAD_KEYRING' })
      expect(await readFile(path, 'utf8')).toContain('"id":"x"')
      await expect(files.load('../x')).rejects.toMatchObject({ code: 'ERR_FERRY_BAD_FOLDER_ID' })
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})
