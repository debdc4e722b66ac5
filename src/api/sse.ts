import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EventBus, FerryEvent } from '../events/event-bus.ts'
import type { StreamRoute } from './http-api.ts'

export const DEFAULT_KEEPALIVE_MS = 15_000
/** a client this far behind is dropped (it may reconnect with Last-Event-ID) */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
const RECONNECT_MS = 1_000

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
 * already dropped); then live events. A comment every 15 s keeps proxies and clients awake.
 */
export function serveEvents (bus: EventBus): StreamRoute {
  return (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' })
    res.write(`retry: ${RECONNECT_MS}\n\n`)
    // a client that went away is noticed on 'close'; until then writes are dropped, never thrown
    res.on('error', () => {})
    const send = (e: FerryEvent): void => {
      if (res.destroyed || res.writableEnded) return
      if (res.writableLength > DEFAULT_MAX_BUFFERED_BYTES) {
        res.destroy()
        return
      }
      res.write(formatSse(e))
    }
    // replay and subscribe in one synchronous step: no event can fall between them
    const after = lastEventId(req)
    if (after !== undefined) {
      const { events, complete } = bus.since(after)
      if (!complete) res.write(': events lost\n\n')
      for (const e of events) send(e)
    }
    const unsubscribe = bus.subscribe(send)
    const keepalive = setInterval(() => { if (!res.destroyed) res.write(': keepalive\n\n') }, DEFAULT_KEEPALIVE_MS)
    const done = (): void => { clearInterval(keepalive); unsubscribe() }
    res.once('close', done)
    req.once('close', done)
  }
}
