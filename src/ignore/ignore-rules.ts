import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import ignore, { type Ignore } from 'ignore'

/** The rules file in a folder's root: gitignore syntax, synced like any other file. */
export const IGNORE_FILE = '.ferryignore'
/** A rules file larger than this is read only up to here (nobody writes 1 MiB of patterns). */
export const MAX_IGNORE_FILE_BYTES = 1024 * 1024

/**
 * The `.ferryignore` rules of one folder (the `ignore` package: the gitignore matcher eslint and
 * others use). An ignored path is never scanned, sent, replaced or deleted by ferry. The rules
 * file itself is never ignored, and `.ferry/` is outside everything already (paths.ts).
 */
export class IgnoreRules {
  private matcher: Ignore = ignore()
  private text = ''

  /** Reads the rules file again; true when the rules changed. A missing file means no rules. */
  async reload (root: string): Promise<boolean> {
    const text = await readBounded(join(root, IGNORE_FILE))
    if (text === this.text) return false
    this.text = text
    this.matcher = ignore({ allowRelativePaths: false }).add(text)
    return true
  }

  /** false when the folder has no rules (nothing to check) */
  get active (): boolean { return this.text !== '' }

  /** `isDir` matters: a `build/` pattern matches a directory named build, not a file. */
  ignores (path: string, isDir: boolean): boolean {
    if (this.text === '' || path === IGNORE_FILE) return false
    try {
      return this.matcher.ignores(isDir ? `${path}/` : path)
    } catch {
      return false // a name the matcher refuses (it wants plain relative paths): not ignored
    }
  }
}

async function readBounded (file: string): Promise<string> {
  let fh
  try {
    fh = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0)) // a link is not followed out of the folder
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    // missing, a directory of that name, or a symbolic link (ELOOP): no rules
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP') return ''
    throw err
  }
  try {
    const { size } = await fh.stat()
    const buf = new Uint8Array(Math.min(size, MAX_IGNORE_FILE_BYTES))
    let total = 0
    while (total < buf.byteLength) {
      const { bytesRead } = await fh.read(buf, total, buf.byteLength - total, total)
      if (bytesRead === 0) break
      total += bytesRead
    }
    return new TextDecoder().decode(buf.subarray(0, total))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return ''
    throw err
  } finally {
    await fh.close()
  }
}
