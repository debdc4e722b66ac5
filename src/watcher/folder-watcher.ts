import { watch, type FSWatcher } from 'node:fs'
import type { Logger } from '@libp2p/logger'
import { INTERNAL_DIR } from '../model/paths.ts'

export interface FolderWatcherOptions {
  root: string
  /** called (debounced) after something changed in the folder */
  onChange: () => void
  log: Logger
  debounceMs?: number
}

export const DEFAULT_WATCH_DEBOUNCE_MS = 50

/**
 * Recursive fs.watch on the folder, debounced; changes inside the internal area are ignored.
 * The watcher only says "look again": the scanner decides what changed (cheap, stat-based).
 */
export class FolderWatcher {
  private readonly opts: FolderWatcherOptions
  private watcher?: FSWatcher
  private timer?: NodeJS.Timeout

  constructor (opts: FolderWatcherOptions) {
    this.opts = opts
  }

  start (): void {
    const debounceMs = this.opts.debounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS
    this.watcher = watch(this.opts.root, { recursive: true, persistent: false }, (_event, filename) => {
      const name = filename?.toString() ?? ''
      if (name === INTERNAL_DIR || name.startsWith(INTERNAL_DIR + '/')) return
      clearTimeout(this.timer)
      this.timer = setTimeout(() => this.opts.onChange(), debounceMs)
    })
    this.watcher.on('error', err => {
      this.opts.log.error('watcher on %s failed: %s (periodic rescans continue)', this.opts.root, err.message)
    })
  }

  stop (): void {
    clearTimeout(this.timer)
    this.watcher?.close()
    this.watcher = undefined
  }
}
