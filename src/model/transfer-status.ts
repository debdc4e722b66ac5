/** A file being received, as `ferry status`, the progress bar and `transfer.progress` events show it. */
export interface TransferStatus {
  folder: string
  path: string
  sizeBytes: number
  doneBytes: number
  /** average since the transfer started */
  bytesPerSecond: number
  /** undefined until there is a rate to go by */
  etaSeconds?: number
  startedAt: number
}
