import { readdir } from 'node:fs/promises'
import type { Dirent } from 'node:fs'
import { INTERNAL_DIR, MAX_PATH_BYTES, MAX_SEGMENT_BYTES, validatePath } from '../model/paths.ts'

/**
 * Names a folder may hold that ferry cannot sync (see paths.ts for what a record's path may
 * be): the scanner reports each, with the reason below, and never records or tombstones it.
 */

export const UNSYNCABLE_NAME = 'ERR_FERRY_UNSYNCABLE_NAME'

/**
 * Why the entry `name` at folder-relative `rel` (its parent already fine) cannot be synced, or
 * undefined when it can.
 */
export function nameProblem (name: string, rel: string): string | undefined {
  if (name.includes('\n')) return 'name contains a newline'
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f]/.exec(name)
  if (control !== null) return `name contains a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()})`
  if (name.includes('\\')) return 'name contains a backslash (a path separator on Windows)'
  if (name.normalize('NFC') !== name) return 'name is not in NFC form (Unicode normalization): it could not be told apart from its NFC twin on other systems'
  if (Buffer.byteLength(name, 'utf8') > MAX_SEGMENT_BYTES) return `name is longer than ${MAX_SEGMENT_BYTES} bytes`
  if (Buffer.byteLength(rel, 'utf8') > MAX_PATH_BYTES) return `path is longer than ${MAX_PATH_BYTES} bytes`
  if (rel === name && /^[a-zA-Z]:/.test(name)) return 'name starts like a Windows drive letter'
  if (rel === name && name.toLowerCase() === INTERNAL_DIR) return `name is reserved (${INTERNAL_DIR} is ferry's own area)`
  try {
    validatePath(rel)
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** The name as text, each byte that is not part of valid UTF-8 shown as `\xNN`. */
export function displayName (raw: Uint8Array): string {
  let out = ''
  let i = 0
  while (i < raw.length) {
    const b = raw[i]!
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (len > 0 && i + len <= raw.length) {
      try {
        out += strictUtf8.decode(raw.subarray(i, i + len))
        i += len
        continue
      } catch { /* not a valid sequence: escaped below */ }
    }
    out += `\\x${b.toString(16).padStart(2, '0')}`
    i++
  }
  return out
}

/**
 * The entries of directory `abs`, sorted by name, and the names in it that are not valid UTF-8
 * (shown as displayName does). Such a name reads back as U+FFFD and could not even be opened
 * under it: only when one shows up is the directory read again as bytes, to tell them apart
 * from names really holding U+FFFD.
 */
export async function readDirEntries (abs: string): Promise<{ entries: Dirent[], invalidUtf8: string[] }> {
  const entries = await readdir(abs, { withFileTypes: true })
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  if (!entries.some(e => e.name.includes('\uFFFD'))) return { entries, invalidUtf8: [] }
  const valid = new Map<string, number>()
  const invalidUtf8: string[] = []
  for (const raw of await readdir(abs, { encoding: 'buffer' })) {
    const text = raw.toString('utf8')
    if (Buffer.from(text, 'utf8').equals(raw)) valid.set(text, (valid.get(text) ?? 0) + 1)
    else invalidUtf8.push(displayName(raw))
  }
  return {
    entries: entries.filter(e => {
      if (!e.name.includes('\uFFFD')) return true
      const n = valid.get(e.name) ?? 0
      if (n === 0) return false
      valid.set(e.name, n - 1)
      return true
    }),
    invalidUtf8: invalidUtf8.sort()
  }
}
