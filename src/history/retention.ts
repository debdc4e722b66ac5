import type { Logger } from '@libp2p/logger'
import type { RecordLog } from '../store/record-log.ts'
import { cleanTrash, DAY_MS, DEFAULT_RETENTION_DAYS } from './trash.ts'

/** How often the trash and the record history are swept of what is past the retention period. */
export const DEFAULT_SWEEP_INTERVAL_MS = 60 * 60 * 1000

export interface RetainedFolder {
  id: string
  root: string
  store: Pick<RecordLog, 'pruneHistory'>
  /** from the folder's config; DEFAULT_RETENTION_DAYS when unset */
  retentionDays?: number
  /** called after trash entries were removed */
  trashChanged?: () => void
}

export interface RetentionSweeperComponents {
  folders: () => RetainedFolder[]
  log: Logger
  intervalMs?: number
}

export function retentionMsOf (f: { retentionDays?: number }): number {
  return (f.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS
}

/** Background job: removes trash entries and superseded records older than each folder's retention. */
export class RetentionSweeper {
  private readonly c: RetentionSweeperComponents
  private timer?: NodeJS.Timeout
  private running?: Promise<void>

  constructor (components: RetentionSweeperComponents) {
    this.c = components
  }

  start (): void {
    this.timer = setInterval(() => { void this.sweep() }, this.c.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS)
    void this.sweep()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    await this.running
  }

  async sweep (nowMs = Date.now()): Promise<void> {
    if (this.running !== undefined) return await this.running
    this.running = (async () => {
      for (const f of this.c.folders()) {
        try {
          const removed = await cleanTrash(f.root, retentionMsOf(f), nowMs)
          const forgotten = await f.store.pruneHistory(nowMs - retentionMsOf(f))
          if (removed > 0) f.trashChanged?.()
          if (removed + forgotten > 0) this.c.log('%s: past retention: %d trash entries removed, %d superseded records forgotten', f.id, removed, forgotten)
        } catch (err) {
          this.c.log.error('%s: retention sweep failed: %s', f.id, (err as Error).message)
        }
      }
    })().finally(() => { this.running = undefined })
    await this.running
  }
}
