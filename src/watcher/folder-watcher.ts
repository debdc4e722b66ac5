import watcher, { type AsyncSubscription } from '@parcel/watcher'
import type { Logger } from '@libp2p/logger'
import { INTERNAL_DIR } from '../model/paths.ts'

export interface FolderWatcherOptions {
  root: string
  /** called (debounced) with the folder-relative paths that changed */
  onChange: (paths: string[]) => void
  log: Logger
  /** the watcher failed, or could not start (the periodic rescans still find changes) */
  onError?: (error: string) => void
  debounceMs?: number
}

export const DEFAULT_WATCH_DEBOUNCE_MS = 30

/**
 * Native recursive watching (@parcel/watcher: inotify on Linux, FSEvents, ReadDirectoryChangesW)
 * of the folder, minus the internal area, debounced. The watcher only says "look again": the
 * scanner decides what changed (cheap, stat-based), and periodic rescans cover lost events.
 */
export class FolderWatcher {
  private readonly opts: FolderWatcherOptions
  private subscription?: AsyncSubscription
  private timer?: NodeJS.Timeout
  private pending = new Set<string>()

  constructor (opts: FolderWatcherOptions) {
    this.opts = opts
  }

  async start (): Promise<void> {
    const debounceMs = this.opts.debounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS
    try {
      this.subscription = await watcher.subscribe(this.opts.root, (err, events) => {
        if (err !== null) {
          this.opts.log.error('watcher on %s: %s (periodic rescans continue)', this.opts.root, err.message)
          this.opts.onError?.(err.message)
          return
        }
        const prefix = this.opts.root.endsWith('/') ? this.opts.root : this.opts.root + '/'
        for (const e of events) if (e.path.startsWith(prefix)) this.pending.add(e.path.slice(prefix.length))
        if (this.pending.size === 0) return
        clearTimeout(this.timer)
        this.timer = setTimeout(() => {
          const paths = [...this.pending]
          this.pending = new Set()
          this.opts.onChange(paths)
        }, debounceMs)
      }, { ignore: [INTERNAL_DIR] })
    } catch (err) {
      this.opts.log.error('cannot watch %s: %s (periodic rescans continue)', this.opts.root, (err as Error).message)
      this.opts.onError?.((err as Error).message)
    }
  }

  async stop (): Promise<void> {
    clearTimeout(this.timer)
    await this.subscription?.unsubscribe().catch(() => {})
    this.subscription = undefined
  }
}
