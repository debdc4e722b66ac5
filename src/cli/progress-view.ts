import type { TransferStatus } from '../sync/transfer-progress.ts'
import { printable as p } from '../text/printable.ts'
import { formatBytes } from './format-bytes.ts'

export const DEFAULT_PROGRESS_LINE_INTERVAL_MS = 5_000

export function describeTransfer (t: TransferStatus): string {
  const pct = t.sizeBytes === 0 ? 100 : Math.floor(t.doneBytes / t.sizeBytes * 100)
  const eta = t.etaSeconds === undefined ? '' : `, ETA ${t.etaSeconds} s`
  return `${p(t.folder)}/${p(t.path)}: ${pct}% of ${formatBytes(t.sizeBytes)}, ${formatBytes(t.bytesPerSecond)}/s${eta}`
}

/**
 * How `ferry start` shows downloads: on a terminal, one progress bar line redrawn in place;
 * otherwise (logs), one line per file at most every few seconds.
 */
export class ProgressView {
  private readonly out: NodeJS.WritableStream
  private readonly tty: boolean
  private readonly lineIntervalMs: number
  private readonly lastLine = new Map<string, number>()
  private barShown = false

  constructor (out: NodeJS.WritableStream, opts: { tty: boolean, lineIntervalMs?: number }) {
    this.out = out
    this.tty = opts.tty
    this.lineIntervalMs = opts.lineIntervalMs ?? DEFAULT_PROGRESS_LINE_INTERVAL_MS
  }

  /** Prints a log line without tearing the bar. */
  print (line: string): void {
    this.clearBar()
    this.out.write(line + '\n')
  }

  update (transfers: TransferStatus[], now = Date.now()): void {
    if (this.tty) {
      this.drawBar(transfers)
      return
    }
    for (const t of transfers) {
      const last = this.lastLine.get(t.path)
      if (last !== undefined && now - last < this.lineIntervalMs) continue
      // a file that arrives within the first interval gets no progress line at all
      if (last === undefined && now - t.startedAt < this.lineIntervalMs) continue
      this.lastLine.set(t.path, now)
      this.out.write(`${new Date(now).toISOString().slice(11, 23)} receiving ${describeTransfer(t)}\n`)
    }
    const active = new Set(transfers.map(t => t.path))
    for (const path of this.lastLine.keys()) if (!active.has(path)) this.lastLine.delete(path)
  }

  private drawBar (transfers: TransferStatus[]): void {
    if (transfers.length === 0) { this.clearBar(); return }
    const size = transfers.reduce((n, t) => n + t.sizeBytes, 0)
    const done = transfers.reduce((n, t) => n + t.doneBytes, 0)
    const rate = transfers.reduce((n, t) => n + t.bytesPerSecond, 0)
    const width = 24
    const filled = size === 0 ? width : Math.round(done / size * width)
    const eta = rate > 0 ? `ETA ${Math.ceil((size - done) / rate)} s` : ''
    const first = transfers[0]!
    const label = transfers.length === 1 ? p(first.path) : `${transfers.length} files`
    this.out.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${formatBytes(done)}/${formatBytes(size)} ${formatBytes(rate)}/s ${eta} ${label}`)
    this.barShown = true
  }

  private clearBar (): void {
    if (!this.barShown) return
    this.out.write('\r\x1b[2K')
    this.barShown = false
  }
}
