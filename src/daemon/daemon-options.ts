import type { TransferStatus } from '../sync/transfer-progress.ts'

/** What `Daemon.open` takes (the CLI's `ferry start` flags). */
export interface DaemonOptions {
  home: string
  listen?: string[]
  mdns?: boolean
  /** human-readable log lines (the CLI prints them) */
  print: (line: string) => void
  /** called every second with the files being received (empty when none) */
  onProgress?: (transfers: TransferStatus[]) => void
  rescanIntervalMs?: number
  /** port of the local HTTP API on 127.0.0.1; 0 (default): any free port (see `<home>/api.json`) */
  apiPort?: number
  /** `GET /metrics` also has the process's own metrics (`process_*`, `nodejs_*`): one daemon per process */
  processMetrics?: boolean
}
