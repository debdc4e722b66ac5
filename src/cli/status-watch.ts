import { setTimeout as sleep } from 'node:timers/promises'

/** how often `ferry status --watch` redraws */
export const DEFAULT_WATCH_INTERVAL_MS = 1_000
/** ANSI: cursor home, clear the screen */
const CLEAR_SCREEN = '\u001b[H\u001b[2J'

export interface WatchOptions {
  /** one frame of text (asked again each time) */
  frame: () => Promise<string>
  write: (text: string) => void
  /** a terminal: each frame replaces the last; otherwise frames follow each other, a blank line apart */
  tty: boolean
  signal: AbortSignal
  intervalMs?: number
}

/**
 * `ferry status --watch`: a frame every interval until `signal` aborts (Ctrl-C). An error
 * (the daemon stopped) ends the watch with that error.
 */
export async function watchStatus (o: WatchOptions): Promise<void> {
  const intervalMs = o.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS
  for (let first = true; !o.signal.aborted; first = false) {
    const text = await o.frame()
    if (o.signal.aborted) return
    o.write(o.tty ? `${CLEAR_SCREEN}${text}\n` : `${first ? '' : '\n'}${text}\n`)
    await sleep(intervalMs, undefined, { signal: o.signal }).catch(() => {})
  }
}
