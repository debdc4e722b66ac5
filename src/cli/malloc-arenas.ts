/**
 * glibc's malloc gives threads their own arenas (up to 8 per core) and reuses freed memory only
 * within an arena: block buffers, TLS records and compression contexts freed on the main thread,
 * the thread pool and V8's GC threads stay resident in separate arenas. With 2 arenas a daemon's
 * peak RSS while syncing a 4 GiB file was ~15-20 MiB lower in one comparison (docs/DESIGN.md);
 * its effect on speed is not yet measured apart from the other changes. The variable is read
 * by glibc when the process starts, so a daemon (or relay) replaces itself (same pid,
 * arguments, stdio) with one that has it, unless the user set it.
 */
export const DAEMON_MALLOC_ARENAS = 2

export function reexecWithFewMallocArenas (): void {
  if (process.platform !== 'linux' || process.env.MALLOC_ARENA_MAX !== undefined || typeof process.execve !== 'function') return
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, MALLOC_ARENA_MAX: String(DAEMON_MALLOC_ARENAS) })
  } catch {
    // not replaceable here (a worker thread, a sandbox): run on with the default arenas
  }
}
