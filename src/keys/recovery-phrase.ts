import { entropyToMnemonic, mnemonicToEntropy, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { FerryError } from '../errors.ts'
import { FOLDER_KEY_BYTES, folderKeyId, type FolderKey } from './folder-keyring.ts'

/** words of the key itself (BIP-39: 256 bits of entropy and an 8-bit checksum) */
export const KEY_WORDS = 24
/** the one word after them names the key's epoch (its index in the word list) */
export const MAX_PHRASE_EPOCH = wordlist.length - 1

const badPhrase = (why: string): FerryError => new FerryError(`not a recovery phrase: ${why}`, 'ERR_FERRY_BAD_PHRASE', 'copy the 25 words `ferry folder backup-key` printed, in order, separated by spaces')

/**
 * A folder key as words: the 24-word BIP-39 mnemonic of the 32 key bytes (its checksum catches a
 * mistyped word), then one word from the same list for the key's epoch, so a recovered device
 * ranks the key as every member does.
 */
export function keyToPhrase (key: FolderKey): string {
  if (key.key.length !== FOLDER_KEY_BYTES) throw new FerryError('a folder key is 32 bytes', 'ERR_FERRY_BAD_FOLDER_KEY')
  if (key.epoch > MAX_PHRASE_EPOCH) throw new FerryError(`epoch ${key.epoch} does not fit a recovery phrase`, 'ERR_FERRY_BAD_FOLDER_KEY')
  return `${entropyToMnemonic(key.key, wordlist)} ${wordlist[key.epoch]!}`
}

/** The key a phrase holds (`createdAtMs` 0: the phrase does not carry it); ERR_FERRY_BAD_PHRASE otherwise. */
export function phraseToKey (phrase: string): FolderKey {
  const words = phrase.normalize('NFKD').trim().toLowerCase().split(/\s+/).filter(w => w !== '')
  if (words.length !== KEY_WORDS + 1) throw badPhrase(`expected ${KEY_WORDS + 1} words, got ${words.length}`)
  const unknown = words.find(w => !wordlist.includes(w))
  if (unknown !== undefined) throw badPhrase(`${JSON.stringify(unknown.slice(0, 20))} is not a word of the list`)
  const mnemonic = words.slice(0, KEY_WORDS).join(' ')
  if (!validateMnemonic(mnemonic, wordlist)) throw badPhrase('its checksum does not match (a word is wrong or out of order)')
  const key = new Uint8Array(mnemonicToEntropy(mnemonic, wordlist))
  return { id: folderKeyId(key), key, epoch: wordlist.indexOf(words[KEY_WORDS]!), createdAtMs: 0 }
}
