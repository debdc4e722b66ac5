/**
 * Permission bits. A record carries its file's `mode & 0o777`; a receiver gives the file exactly
 * those bits (chmod'ed explicitly, so the umask plays no part), which are by definition no wider
 * than the sender's, and the scanner records a new version when the bits on disk differ from
 * its record's. The applier stores what it installed, so its own chmod is not seen as a change.
 */

/** what a file gets when a record carries no bits (records of old peers say 0) */
export const DEFAULT_FILE_MODE = 0o644
export const DEFAULT_DIR_MODE = 0o755

/** The bits a file described by a record with `mode` has on disk. */
export function fileModeOf (mode: number): number {
  const bits = mode & 0o777
  return bits === 0 ? DEFAULT_FILE_MODE : bits
}

/**
 * The bits a directory described by a record with `mode` is created with: the sender's, plus
 * every owner bit (ferry must be able to create and remove entries in it); group and other stay
 * no wider than the sender's.
 */
export function dirModeOf (mode: number): number {
  const bits = mode & 0o777
  return (bits === 0 ? DEFAULT_DIR_MODE : bits) | 0o700
}
