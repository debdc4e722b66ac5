import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EventBus, FerryEvent } from '../events/event-bus.ts'
import type { StreamRoute } from './http-api.ts'
import { sendJson } from './router.ts'

export const DEFAULT_KEEPALIVE_MS = 15_000
/** a client with this much unsent output is dropped (it may reconnect with Last-Event-ID) */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024
/** event streams open at once; one more is answered 503 */
export const DEFAULT_MAX_CLIENTS = 64
const RECONNECT_MS = 1_000
/** a refused client is told to wait this long */
const RETRY_AFTER_S = 5

export interface EventStreamLimits {
  maxClients?: number
  maxBufferedBytes?: number
  keepaliveMs?: number
}

export interface EventStreamStats {
  /** streams open now */
  clients: number
  /** output queued in the process for all of them (bytes the kernel did not take yet) */
  bufferedBytes: number
  /** clients cut off for falling behind, since start */
  dropped: number
  /** requests answered 503 because `maxClients` streams were open, since start */
  refused: number
}

/** One event in the text/event-stream format: id, event type, the event as JSON. */
export function formatSse (e: FerryEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`
}

function lastEventId (req: IncomingMessage): number | undefined {
  const header = req.headers['last-event-id']
  const raw = (Array.isArray(header) ? header[0] : header) ?? new URL(req.url ?? '/', 'http://localhost').searchParams.get('lastEventId') ?? undefined
  if (raw === undefined || !/^\d{1,16}$/.test(raw.trim())) return undefined
  return Number(raw.trim())
}

/**
 * `GET /events`: server-sent events. With `Last-Event-ID` (header, or `?lastEventId=`), the
 * events after it still in the bus's ring come first (a `: events lost` comment says some were
 * already dropped, or did not fit the client's buffer); then live events. A comment every 15 s
 * keeps proxies and clients awake.
 *
 * Memory is bounded whatever clients do: at most `maxClients` streams (more get 503), and a
 * stream whose unsent output (`writableLength`: what the kernel's socket buffer did not take)
 * would pass `maxBufferedBytes` is closed. So a client that never reads costs at most that
 * much, and all of them `maxClients` times that.
 */
export class EventStreams {
  private readonly bus: EventBus
  private readonly maxClients: number
  private readonly maxBufferedBytes: number
  private readonly keepaliveMs: number
  private readonly clients = new Set<ServerResponse>()
  private dropped = 0
  private refused = 0

  constructor (bus: EventBus, limits: EventStreamLimits = {}) {
    this.bus = bus
    this.maxClients = limits.maxClients ?? DEFAULT_MAX_CLIENTS
    this.maxBufferedBytes = limits.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES
    this.keepaliveMs = limits.keepaliveMs ?? DEFAULT_KEEPALIVE_MS
  }

  stats (): EventStreamStats {
    let bufferedBytes = 0
    for (const res of this.clients) bufferedBytes += res.writableLength
    return { clients: this.clients.size, bufferedBytes, dropped: this.dropped, refused: this.refused }
  }

  readonly route: StreamRoute = (req: IncomingMessage, res: ServerResponse) => {
    if (this.clients.size >= this.maxClients) {
      this.refused++
      res.setHeader('retry-after', String(RETRY_AFTER_S))
      sendJson(res, 503, { error: `${this.maxClients} event streams are open already`, code: 'ERR_FERRY_TOO_MANY_STREAMS' })
      return
    }
    this.clients.add(res)
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' })
    // a client that went away is noticed on 'close'; until then writes are dropped, never thrown
    res.on('error', () => {})
    const write = (chunk: string): void => {
      if (res.destroyed || res.writableEnded) return
      if (res.writableLength + chunk.length > this.maxBufferedBytes) {
        this.dropped++
        res.destroy()
        return
      }
      res.write(chunk)
    }
    write(`retry: ${RECONNECT_MS}\n\n`)
    // replay and subscribe in one synchronous step: no event can fall between them
    const after = lastEventId(req)
    if (after !== undefined) this.replay(after, write)
    const unsubscribe = this.bus.subscribe(e => write(formatSse(e)))
    const keepalive = setInterval(() => write(': keepalive\n\n'), this.keepaliveMs)
    const done = (): void => {
      clearInterval(keepalive)
      unsubscribe()
      this.clients.delete(res)
    }
    res.once('close', done)
    req.once('close', done)
  }

  /** The ring's events after `after`, newest first until half the buffer limit is used. */
  private replay (after: number, write: (chunk: string) => void): void {
    const { events, complete } = this.bus.since(after)
    const chunks: string[] = []
    let bytes = 0
    for (let i = events.length - 1; i >= 0; i--) {
      const chunk = formatSse(events[i]!)
      if (bytes + chunk.length > this.maxBufferedBytes / 2) break
      bytes += chunk.length
      chunks.push(chunk)
    }
    if (!complete || chunks.length < events.length) write(': events lost\n\n')
    for (let i = chunks.length - 1; i >= 0; i--) write(chunks[i]!)
  }
}
