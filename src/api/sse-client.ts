import { request } from 'node:http'
import { FerryError } from '../errors.ts'
import { readApiInfo } from './api-token.ts'
import type { FerryEvent } from '../events/event-bus.ts'

/**
 * Parses a text/event-stream incrementally; calls `onData` with each event's data (joined
 * lines), and `onComment` with each comment's text (`: events lost` -> `events lost`).
 */
export class SseParser {
  private buffer = ''
  private data: string[] = []
  private readonly onData: (data: string) => void
  private readonly onComment: ((text: string) => void) | undefined

  constructor (onData: (data: string) => void, onComment?: (text: string) => void) {
    this.onData = onData
    this.onComment = onComment
  }

  push (chunk: string): void {
    this.buffer += chunk
    let nl
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '')
      this.buffer = this.buffer.slice(nl + 1)
      if (line === '') {
        if (this.data.length > 0) this.onData(this.data.join('\n'))
        this.data = []
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(5).replace(/^ /, ''))
      } else if (line.startsWith(':')) {
        this.onComment?.(line.slice(1).trim())
      }
      // id:, event:, retry: and comments: the data carries id and type too
    }
  }
}

/**
 * Follows the running daemon's `GET /events` (port and token from `<home>/api.json`) until the
 * stream ends (the daemon stopped: ERR_FERRY_DAEMON_STOPPED) or `signal` aborts (resolves).
 */
export async function followEvents (home: string, onEvent: (e: FerryEvent) => void, options: { signal?: AbortSignal, lastEventId?: number, onOpen?: () => void, onComment?: (text: string) => void } = {}): Promise<void> {
  const info = await readApiInfo(home)
  await new Promise<void>((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${info.token}`, accept: 'text/event-stream' }
    if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId)
    const req = request({ host: '127.0.0.1', port: info.port, path: '/events', headers, ...(options.signal === undefined ? {} : { signal: options.signal }) }, res => {
      if (res.statusCode !== 200) {
        res.resume()
        if (res.statusCode === 503) {
          reject(new FerryError('the daemon has as many event streams open as it serves', 'ERR_FERRY_TOO_MANY_STREAMS', 'close another `ferry events`, or try again later'))
          return
        }
        reject(new FerryError(`the daemon's HTTP API answered ${res.statusCode ?? '?'}`, res.statusCode === 401 ? 'ERR_FERRY_UNAUTHORIZED' : 'ERR_FERRY_DAEMON', 'the token in api.json may be stale: restart the daemon'))
        return
      }
      res.setEncoding('utf8')
      options.onOpen?.()
      const parser = new SseParser(data => {
        try { onEvent(JSON.parse(data) as FerryEvent) } catch { /* not an event of ours: skip */ }
      }, options.onComment)
      res.on('data', (chunk: string) => parser.push(chunk))
      res.on('end', () => reject(new FerryError('the daemon stopped', 'ERR_FERRY_DAEMON_STOPPED')))
      res.on('error', err => { if (options.signal?.aborted === true) resolve(); else reject(err) })
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (options.signal?.aborted === true) resolve()
      else if (err.code === 'ECONNREFUSED') reject(new FerryError(`no ferry daemon is running for ${home}`, 'ERR_FERRY_NO_DAEMON', 'start one with `ferry start`'))
      else reject(err)
    })
    req.end()
  })
}
