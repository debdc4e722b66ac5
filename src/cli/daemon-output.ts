import type { NodeEvents } from '../events/node-events.ts'
import type { NodeEvent } from '../events/event-catalog.ts'
import { eventLines } from './event-lines.ts'
import { printable } from '../text/printable.ts'
import type { ProgressView } from './progress-view.ts'

/** `HH:MM:SS.mmm`, the prefix of every line `ferry start` and `ferry relay` print */
export function timeStamp (now = new Date()): string {
  return now.toISOString().slice(11, 23)
}

/**
 * What `ferry start` and `ferry relay` print: a stamped, printable line per event that has one,
 * and the transfer snapshots on the progress view; `show` (all by default) picks the events
 * whose lines are printed. Returns the unsubscribe function.
 */
export function printNodeEvents (events: NodeEvents, view: Pick<ProgressView, 'print' | 'update'>, show: (e: NodeEvent) => boolean = () => true): () => void {
  return events.subscribe(e => {
    if (e.type === 'transfer.snapshot') {
      view.update(e.detail.transfers)
      return
    }
    if (!show(e)) return
    for (const line of eventLines(e)) view.print(`${timeStamp()} ${printable(line)}`)
  })
}
