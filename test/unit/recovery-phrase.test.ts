import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { folderKeyId, newFolderKey, type FolderKey } from '../../src/keys/folder-keyring.ts'
import { keyToPhrase, phraseToKey, KEY_WORDS } from '../../src/keys/recovery-phrase.ts'
import { recoveryIdentity } from '../../src/keys/recovery-identity.ts'

const keyOf = (bytes: Uint8Array, epoch: number): FolderKey => ({ id: folderKeyId(bytes), key: bytes, epoch, createdAtMs: 1 })

describe('recovery phrases', () => {
  it('round-trip any key and epoch: 24 BIP-39 words of the key, one word for the epoch', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 2047 }), (bytes, epoch) => {
      const phrase = keyToPhrase(keyOf(bytes, epoch))
      const words = phrase.split(' ')
      expect(words).toHaveLength(KEY_WORDS + 1)
      expect(validateMnemonic(words.slice(0, KEY_WORDS).join(' '), wordlist)).toBe(true)
      const back = phraseToKey(phrase)
      expect(back.key).toEqual(bytes)
      expect(back.id).toBe(folderKeyId(bytes))
      expect(back.epoch).toBe(epoch)
    }))
  })

  it('accept extra spaces, newlines and capitals', () => {
    const k = newFolderKey(3)
    const messy = '  ' + keyToPhrase(k).toUpperCase().split(' ').join('  \n ') + ' '
    expect(phraseToKey(messy).id).toBe(k.id)
  })

  it('refuse a wrong word count, an unknown word, a swapped or changed word (checksum)', () => {
    const words = keyToPhrase(newFolderKey()).split(' ')
    const code = (phrase: string): string | undefined => { try { phraseToKey(phrase); return undefined } catch (err) { return (err as { code?: string }).code } }
    expect(code(words.slice(1).join(' '))).toBe('ERR_FERRY_BAD_PHRASE')
    expect(code([...words.slice(0, 3), 'notaword', ...words.slice(4)].join(' '))).toBe('ERR_FERRY_BAD_PHRASE')
    // a changed key word fails the checksum (1 in 256 collide: try words until one fails, as any user typo does in practice)
    let refused = 0
    for (const w of ['abandon', 'zoo', 'legal', 'winner']) {
      if (w === words[5]) continue
      if (code([...words.slice(0, 5), w, ...words.slice(6)].join(' ')) === 'ERR_FERRY_BAD_PHRASE') refused++
    }
    expect(refused).toBeGreaterThan(0)
    expect(code('')).toBe('ERR_FERRY_BAD_PHRASE')
  })
})

describe('recovery identity', () => {
  it('is the same Ed25519 identity for the same key, another for another key', async () => {
    const k = newFolderKey()
    const a = await recoveryIdentity(k.key)
    const b = await recoveryIdentity(new Uint8Array(k.key))
    const other = await recoveryIdentity(newFolderKey().key)
    expect(a.id).toBe(b.id)
    expect(other.id).not.toBe(a.id)
    expect(a.privateKey.type).toBe('Ed25519')
    expect(peerIdFromString(a.id).toString()).toBe(a.id)
    // it signs, and the signature checks against its public key
    const data = new TextEncoder().encode('member of docs')
    const sig = await a.privateKey.sign(data)
    expect(await b.privateKey.publicKey.verify(data, sig)).toBe(true)
    expect(await other.privateKey.publicKey.verify(data, sig)).toBe(false)
  })

  it('refuses a key of the wrong size', async () => {
    await expect(recoveryIdentity(new Uint8Array(16))).rejects.toMatchObject({ code: 'ERR_FERRY_BAD_FOLDER_KEY' })
  })
})

describe('sealed keyrings', () => {
  it('open with the current key only, give every key back, and refuse a changed byte', async () => {
    const { sealKeyring, openSealedKeyring, sealedUnder } = await import('../../src/keys/sealed-keyring.ts')
    const { rekeyed, currentKey } = await import('../../src/keys/folder-keyring.ts')
    const old = newFolderKey()
    const { ring, key } = rekeyed({ folderId: 'docs', keys: [old, newFolderKey()] })
    const blob = sealKeyring(ring)
    expect(sealedUnder(blob)).toBe(key.id)
    expect(currentKey(ring).id).toBe(key.id)
    expect(openSealedKeyring(blob, 'docs', [key]).map(k => k.id).sort()).toEqual(ring.keys.map(k => k.id).sort())
    // a member removed before the rekey holds only older keys
    expect(() => openSealedKeyring(blob, 'docs', [old])).toThrow(/sealed under key/)
    // another folder's id, or one changed byte: it does not open
    expect(() => openSealedKeyring(blob, 'other', [key])).toThrow(/does not open/)
    const bad = new Uint8Array(blob)
    bad[bad.length - 20]! ^= 1
    expect(() => openSealedKeyring(bad, 'docs', [key])).toThrow(/does not open/)
    // no key byte is in the blob in the clear
    for (const k of ring.keys) expect(Buffer.from(blob).includes(Buffer.from(k.key))).toBe(false)
  })
})
