import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { connect, type Socket } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpApi } from '../../src/api/http-api.ts'
import { readApiInfo } from '../../src/api/api-token.ts'
import { DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_CLIENTS, EventStreams } from '../../src/api/sse.ts'
import { followEvents } from '../../src/api/sse-client.ts'
import { EventBus } from '../../src/events/event-bus.ts'
import { waitFor } from '../helpers/ferry-process.ts'

/**
 * The daemon's `GET /events` with real HTTP clients over loopback TCP: clients that never read
 * cannot make the daemon hold unbounded output, and the number of streams is capped.
 */
describe('event streams stay bounded', () => {
  let home: string
  let bus: EventBus
  let streams: EventStreams
  let api: HttpApi
  let token: string
  const sockets: Socket[] = []
  const stopReader = new AbortController()

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'ferry-sse-'))
    bus = new EventBus()
    streams = new EventStreams(bus)
    api = new HttpApi({ home, port: 0, routes: {}, streams: { 'GET /events': streams.route } })
    await api.start()
    token = (await readApiInfo(home)).token
  })
  afterEach(async () => {
    stopReader.abort()
    for (const s of sockets) s.destroy()
    sockets.length = 0
    await api.stop()
    await rm(home, { recursive: true, force: true })
  })

  /** An HTTP client that asks for the stream and then never reads a byte. */
  async function stalledClient (): Promise<Socket> {
    const s = connect(api.port, '127.0.0.1')
    sockets.push(s)
    await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
    s.on('error', () => {})
    s.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`)
    s.pause()
    return s
  }

  /** An HTTP client that reads the first response and says its status line. */
  async function statusLine (): Promise<string> {
    const s = connect(api.port, '127.0.0.1')
    sockets.push(s)
    s.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`)
    return await new Promise((resolve, reject) => {
      let text = ''
      s.on('data', (d: Buffer) => { text += d.toString(); if (text.includes('\r\n')) resolve(text.slice(0, text.indexOf('\r\n'))) })
      s.once('error', reject)
    })
  }

  it('a client that never reads is cut off once its unsent output passes the limit; the others are not', async () => {
    const SLOW = 8
    const slow = await Promise.all(Array.from({ length: SLOW }, stalledClient))
    let received = 0
    const reading = followEvents(home, () => { received++ }, { signal: stopReader.signal })
    await waitFor('all streams open', () => streams.stats().clients === SLOW + 1)

    // ~12 MiB of events: far more than loopback's socket buffers (a few MiB) plus the limit
    const path = Array.from({ length: 12 }, (_, i) => `${'d'.repeat(240)}${i}`).join('/')
    const eventBytes = 4096
    const total = 3000
    let maxBuffered = 0
    for (let published = 0; published < total;) {
      for (let i = 0; i < 100; i++, published++) {
        bus.publish({ type: 'file.added', folder: 'docs', path: `${path}/${published}`, entry: 'file', size: published, device: '12D3KooWHvzTkzGC4YXdhRnQsg2CTQSG6EueBw14WuwC17tHGg6W' })
        const s = streams.stats()
        maxBuffered = Math.max(maxBuffered, s.bufferedBytes)
        // structural bound: each open stream holds at most the limit plus one event
        expect(s.bufferedBytes).toBeLessThanOrEqual(s.clients * (DEFAULT_MAX_BUFFERED_BYTES + eventBytes))
      }
      // the reading client keeps up (a positive event, not a pause)
      const want = published
      await waitFor(`reader at ${want}`, () => received === want, 60_000)
    }
    expect(received).toBe(total)
    expect(streams.stats()).toMatchObject({ clients: 1, dropped: SLOW })
    // the stalled clients really were buffered up to the limit, and not beyond
    expect(maxBuffered).toBeGreaterThan(SLOW * DEFAULT_MAX_BUFFERED_BYTES / 2)
    expect(maxBuffered).toBeLessThanOrEqual((SLOW + 1) * (DEFAULT_MAX_BUFFERED_BYTES + eventBytes))
    // a stalled client that reads at last finds its stream closed by the server
    await Promise.all(slow.map(async s => await new Promise<void>(resolve => { s.once('close', () => resolve()); s.resume() })))
    stopReader.abort()
    await reading
  })

  it(`at most ${DEFAULT_MAX_CLIENTS} streams: one more gets 503, a freed place can be taken again`, async () => {
    const open = await Promise.all(Array.from({ length: DEFAULT_MAX_CLIENTS }, stalledClient))
    await waitFor('streams open', () => streams.stats().clients === DEFAULT_MAX_CLIENTS)
    expect(await statusLine()).toBe('HTTP/1.1 503 Service Unavailable')
    expect(streams.stats()).toMatchObject({ clients: DEFAULT_MAX_CLIENTS, refused: 1 })
    open[0]!.destroy()
    await waitFor('a stream closed', () => streams.stats().clients === DEFAULT_MAX_CLIENTS - 1)
    expect(await statusLine()).toBe('HTTP/1.1 200 OK')
  })
})
