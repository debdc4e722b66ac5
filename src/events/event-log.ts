import type { Logger } from '@libp2p/logger'
import type { NodeEvents } from './node-events.ts'

/**
 * Debug log lines (`DEBUG=ferry:*`) for what the CLI does not print: each file applied, and each
 * failure to apply (printed once as a `file.error`; a failure is retried with a growing delay).
 * Returns the unsubscribe function.
 */
export function logFolderEvents (events: NodeEvents, log: Logger): () => void {
  return events.subscribe(e => {
    if (e.type === 'file.applied') log('%s: %s %s', e.detail.folder, e.detail.action, e.detail.path)
    else if (e.type === 'file.failed') log('%s: %s: %s', e.detail.folder, e.detail.path, e.detail.error)
  })
}
