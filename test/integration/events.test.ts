import { describe, it, expect, afterEach } from 'vitest'
import { readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferry, waitConverged, waitFor } from '../helpers/ferry-process.ts'
import { EventTail } from '../helpers/event-tail.ts'
import { SseParser } from '../../src/api/sse-client.ts'
import type { FerryEvent } from '../../src/events/event-bus.ts'

const isFileEvent = (e: FerryEvent): boolean => e.type.startsWith('file.')

/** Reads `GET /events` with a Last-Event-ID until `count` events matching `keep` came. */
async function replay (home: string, lastEventId: number, count: number, keep: (e: FerryEvent) => boolean): Promise<FerryEvent[]> {
  const info = JSON.parse(await readFile(join(home, 'api.json'), 'utf8')) as { port: number, token: string }
  const abort = new AbortController()
  const res = await fetch(`http://127.0.0.1:${info.port}/events`, { headers: { authorization: `Bearer ${info.token}`, 'last-event-id': String(lastEventId) }, signal: abort.signal })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  const got: FerryEvent[] = []
  const parser = new SseParser(data => { const e = JSON.parse(data) as FerryEvent; if (keep(e)) got.push(e) })
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  const timeout = setTimeout(() => abort.abort(), 10_000)
  try {
    while (got.length < count) {
      const { value, done } = await reader.read()
      if (done) break
      parser.push(value)
    }
  } finally {
    clearTimeout(timeout)
    abort.abort()
  }
  return got
}

describe('event stream', () => {
  let lab: Lab
  let tail: EventTail | undefined
  afterEach(async () => {
    await tail?.stop()
    await lab.cleanup()
  })

  it('a change on device A reaches B\'s stream as typed events, in order, with A as their author', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await lab.start(b)
    tail = await new EventTail(b.home).ready()
    await lab.start(a)
    // the tail is live once it reports a's connection
    const connected = await tail.next('a connected', e => e.type === 'peer.connected' && e.device === a.id)
    expect(connected).toMatchObject({ name: 'a' })
    await waitConverged([a, b])

    await writeFile(join(a.folder, 'x.txt'), 'first version')
    const added = await tail.next('added', e => e.type === 'file.added' && e.path === 'x.txt')
    await writeFile(join(a.folder, 'x.txt'), 'second version, longer')
    await tail.next('changed', e => e.type === 'file.changed' && e.path === 'x.txt')
    await rename(join(a.folder, 'x.txt'), join(a.folder, 'y.txt'))
    await tail.next('renamed', e => e.type === 'file.renamed')
    await unlink(join(a.folder, 'y.txt'))
    await tail.next('deleted', e => e.type === 'file.deleted' && e.path === 'y.txt')

    const files = tail.events.filter(isFileEvent)
    expect(files.map(e => e.type)).toEqual(['file.added', 'file.changed', 'file.renamed', 'file.deleted'])
    expect(files).toMatchObject([
      { folder: 'docs', path: 'x.txt', entry: 'file', size: 13, device: a.id },
      { folder: 'docs', path: 'x.txt', entry: 'file', size: 22, device: a.id },
      { folder: 'docs', from: 'x.txt', path: 'y.txt', entry: 'file', size: 22, device: a.id },
      { folder: 'docs', path: 'y.txt', entry: 'file', device: a.id }
    ])
    const ids = tail.events.map(e => e.id)
    expect(ids).toEqual([...ids].sort((x, y) => x - y))
    expect(new Set(ids).size).toBe(ids.length)
    for (const e of files) expect(typeof e.time).toBe('number')

    // a client that saw `added` and reconnects gets what came after it, from the ring
    const missed = await replay(b.home, added.id, 3, isFileEvent)
    expect(missed.map(e => e.type)).toEqual(['file.changed', 'file.renamed', 'file.deleted'])
    expect(missed.map(e => e.id)).toEqual(files.slice(1).map(e => e.id))
  })

  it('a conflict copy is an event on the device that made it; human lines by default', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await lab.start(b)
    tail = await new EventTail(b.home).ready()
    const human = await new EventTail(b.home, { json: false }).ready()
    try {
      // both edit while apart; b's version is older, so b keeps it as a conflict copy
      await writeFile(join(b.folder, 'notes.txt'), 'b wrote that')
      await tail.next('b records its own file', e => e.type === 'file.added' && e.path === 'notes.txt' && e.device === b.id)
      await new Promise(resolve => setTimeout(resolve, 20))
      await writeFile(join(a.folder, 'notes.txt'), 'a wrote this')
      await lab.start(a)
      const c = await tail.next('conflict', e => e.type === 'conflict')
      expect(c).toMatchObject({ folder: 'docs', path: 'notes.txt', device: a.id, keptFrom: b.id })
      expect((c as { conflictPath: string }).conflictPath).toMatch(/^notes\.sync-conflict-\d{8}-\d{6}-.{7}\.txt$/)
      await waitConverged([a, b])
      await waitFor('human lines', () => human.lines.some(l => / conflict docs\/notes\.txt: a's version kept the name/.test(l)))
      expect(human.lines.some(l => / added docs\/notes\.txt \(12 B\) by this device$/.test(l))).toBe(true)
      expect(human.lines.some(l => / connected a 12D3KooW/.test(l))).toBe(true)
    } finally {
      await human.stop()
    }
  })

  it('ferry events without a daemon is a one-line error once its wait is over (--wait 0: at once)', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const r = await ferry(['--home', a.home, 'events', '--wait', '0'])
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^ferry: no ferry daemon is running/)
    // and with a stale api.json (daemon killed), the same
    await writeFile(join(a.home, 'api.json'), JSON.stringify({ url: 'http://127.0.0.1:9', port: 9, token: 'x', pid: 0 }))
    const stale = await ferry(['--home', a.home, 'events', '--wait', '0'])
    expect(stale.code).toBe(1)
    expect(stale.stderr).toMatch(/^ferry: no ferry daemon is running/)
  })
})
