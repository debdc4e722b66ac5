/**
 * What the next scan must look at: the paths the watcher (or a restore, or an unstable file)
 * reported since the last scan, or the whole folder. Plain state: no timers, no disk.
 */
export class ScanRequests {
  private paths = new Set<string>()
  /** a full walk (at start: the first scan is one) */
  private full = true

  add (paths: Iterable<string>): void {
    for (const p of paths) this.paths.add(p)
  }

  requestFull (): void {
    this.full = true
  }

  /** what is asked for now; the requests start empty again */
  take (): { full: boolean, paths: Set<string> } {
    const taken = { full: this.full, paths: this.paths }
    this.full = false
    this.paths = new Set()
    return taken
  }
}
