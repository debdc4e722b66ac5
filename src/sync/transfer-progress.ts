import type { TransferStatus } from '../model/transfer-status.ts'

export type { TransferStatus }

interface Entry { sizeBytes: number, doneBytes: number, startedAt: number }

/** Tracks files being assembled in one folder; cheap enough to call per block. */
export class TransferProgress {
  private readonly folder: string
  private readonly entries = new Map<string, Entry>()

  constructor (folder: string) {
    this.folder = folder
  }

  start (path: string, sizeBytes: number): void {
    this.entries.set(path, { sizeBytes, doneBytes: 0, startedAt: Date.now() })
  }

  add (path: string, bytes: number): void {
    const e = this.entries.get(path)
    if (e !== undefined) e.doneBytes = Math.min(e.sizeBytes, e.doneBytes + bytes)
  }

  end (path: string): void {
    this.entries.delete(path)
  }

  list (now = Date.now()): TransferStatus[] {
    return [...this.entries].map(([path, e]) => {
      const seconds = Math.max((now - e.startedAt) / 1000, 0.001)
      const rate = e.doneBytes / seconds
      const t: TransferStatus = { folder: this.folder, path, sizeBytes: e.sizeBytes, doneBytes: e.doneBytes, bytesPerSecond: Math.round(rate), startedAt: e.startedAt }
      if (rate > 0) t.etaSeconds = Math.ceil((e.sizeBytes - e.doneBytes) / rate)
      return t
    })
  }
}
