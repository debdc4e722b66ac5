/**
 * What sync needs of a folder's trash: the applier keeps every file it replaces or deletes
 * there (src/history keeps the trash and implements this; the daemon passes it in).
 */
export interface Trash {
  /**
   * Keeps the file at `path` (described by our record `seq`) before another file is renamed over
   * it: a hard link, so the replacement stays one atomic rename. False when the file system
   * cannot link (the file is then replaced without being kept). Throws UnsafePathError when the
   * path is refused (the file must not be replaced either).
   */
  keep: (path: string, seq: number) => Promise<boolean>
  /** Moves the file at `path` into the trash. False when it could not be moved; throws when refused. */
  take: (path: string, seq: number) => Promise<boolean>
  /** files went into the trash or left it: what it holds is looked at again (its blocks are served) */
  changed: () => Promise<void>
}
