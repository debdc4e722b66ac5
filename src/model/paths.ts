import { FerryError } from '../errors.ts'

/** Folder-relative paths as they travel in records: NFC, '/'-separated, no '.' or '..'. */

export const MAX_PATH_BYTES = 4096
export const MAX_SEGMENT_BYTES = 255
/** The one hidden area inside a synced folder that is never scanned or synced. */
export const INTERNAL_DIR = '.ferry'

export class InvalidPathError extends FerryError {
  readonly path: string

  constructor (path: string, reason: string) {
    super(`invalid path ${JSON.stringify(path)}: ${reason}`, 'ERR_FERRY_INVALID_PATH')
    this.path = path
  }
}


/**
 * Returns the canonical (NFC) form of a folder-relative path, or throws InvalidPathError.
 * Rejects: empty, absolute, drive letters, backslashes, NUL and control characters,
 * empty / '.' / '..' segments, over-long paths, and the internal `.ferry` area.
 */
export function validatePath (input: string): string {
  if (typeof input !== 'string' || input.length === 0) throw new InvalidPathError(String(input), 'empty')
  const path = input.normalize('NFC')
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) throw new InvalidPathError(input, 'too long')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) throw new InvalidPathError(input, 'control character')
  if (path.includes('\\')) throw new InvalidPathError(input, 'backslash')
  if (path.startsWith('/')) throw new InvalidPathError(input, 'absolute')
  if (/^[a-zA-Z]:/.test(path)) throw new InvalidPathError(input, 'drive letter')
  const segments = path.split('/')
  for (const segment of segments) {
    if (segment === '') throw new InvalidPathError(input, 'empty segment')
    if (segment === '.' || segment === '..') throw new InvalidPathError(input, `'${segment}' segment`)
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) throw new InvalidPathError(input, 'segment too long')
  }
  // case-insensitive: on macOS/Windows '.FERRY' is the same directory
  if (segments[0]!.toLowerCase() === INTERNAL_DIR) throw new InvalidPathError(input, 'reserved internal directory')
  return path
}

/** Parent path, or '' for a top-level entry. */
export function parentPath (path: string): string {
  const i = path.lastIndexOf('/')
  return i < 0 ? '' : path.slice(0, i)
}

/** Number of segments; used to order directory creation (shallow first) and removal (deep first). */
export function pathDepth (path: string): number {
  let depth = 1
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) depth++
  return depth
}
