import { describe, it, expect } from 'vitest'
import { NodeEvents } from '../../src/events/node-events.ts'
import { publicEventsOf, publishPublicEvents } from '../../src/events/public-events.ts'
import { EventBus } from '../../src/events/event-bus.ts'
import type { NodeEvent } from '../../src/events/event-catalog.ts'
import { eventLines } from '../../src/cli/event-lines.ts'
import { printNodeEvents } from '../../src/cli/daemon-output.ts'

const dev = '12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5'

describe('NodeEvents', () => {
  it('delivers every event in order to subscribers, by type to `on`, and survives a throwing listener', () => {
    const events = new NodeEvents()
    const all: string[] = []
    const folders: string[] = []
    events.subscribe(() => { throw new Error('broken listener') })
    const off = events.subscribe(e => all.push(e.type))
    events.on('folder.resumed', d => folders.push(d.folder))
    events.emit({ type: 'folder.resumed', detail: { folder: 'docs' } })
    events.emit({ type: 'node.listening', detail: { addr: '/ip4/127.0.0.1/tcp/1' } })
    off()
    events.emit({ type: 'folder.resumed', detail: { folder: 'more' } })
    expect(all).toEqual(['folder.resumed', 'node.listening'])
    expect(folders).toEqual(['docs', 'more'])
  })
})

describe('CLI lines from events', () => {
  const cases: Array<[NodeEvent, string[]]> = [
    [{ type: 'peer.connected', detail: { device: dev, name: 'laptop' } }, [`peer connected: laptop (${dev})`]],
    [{ type: 'peer.disconnected', detail: { device: dev } }, [`peer disconnected: ${dev}`]],
    [{ type: 'peer.cut-off', detail: { device: dev, reason: 'bad frame' } }, [`cutting off ${dev}: bad frame`]],
    [{ type: 'node.listening', detail: { addr: '/ip4/127.0.0.1/tcp/4001' } }, ['listening on /ip4/127.0.0.1/tcp/4001']],
    [{ type: 'node.identity', detail: { kind: 'device', id: dev } }, [`device id ${dev}`]],
    [{ type: 'node.identity', detail: { kind: 'relay', id: dev } }, [`relay id ${dev}`]],
    [{ type: 'folder.started', detail: { folder: 'docs', path: '/srv/docs' } }, ['folder docs at /srv/docs']],
    [{ type: 'api.listening', detail: { port: 8384, infoFile: '/h/api.json' } }, ['HTTP API on http://127.0.0.1:8384 (port and token in /h/api.json)']],
    [{ type: 'folder.scanned', detail: { folder: 'docs', files: 10, changed: 2, ms: 31 } }, ['docs: scanned 10 files, 2 changed (31 ms)']],
    [{ type: 'file.error', detail: { folder: 'docs', path: 'a\nb', code: 'ERR_X', reason: 'no' } }, ['docs: a\\nb: no (ERR_X)']],
    [{ type: 'file.error.cleared', detail: { folder: 'docs', path: 'a' } }, ['docs: a: problem cleared']],
    [{ type: 'folder.stopped', detail: { folder: 'docs', code: 'ERR', reason: 'folder root /x is missing' } }, ['docs: STOPPED: folder root /x is missing']],
    [{ type: 'folder.resumed', detail: { folder: 'docs' } }, ['docs: resumed: its root is back']],
    [{ type: 'deletes.held', detail: { folder: 'docs', count: 90, paths: [], reason: '90 of 100 files deleted at once' } },
      ['docs: holding 90 deletes (90 of 100 files deleted at once); nothing is deleted on other devices until `ferry folder confirm-deletes docs`; `ferry revert docs` brings the files back']],
    [{ type: 'deletes.confirmed', detail: { folder: 'docs', count: 90 } }, ['docs: 90 held deletes confirmed']],
    [{ type: 'relay-history.failed', detail: { folder: 'docs', path: 'a.txt', relay: dev, error: 'timeout' } }, [`history of a.txt from relay ${dev} failed: timeout`]],
    [{ type: 'invitation.created', detail: { folder: 'docs', role: 'read-only', expiresAt: 0 } }, ['invitation to docs (read-only) made, valid until 1970-01-01T00:00:00.000Z']],
    [{ type: 'share.accepted', detail: { folder: 'docs', device: dev, role: 'read-write' } }, [`${dev} joined docs (read-write)`]],
    [{ type: 'relay.opened', detail: { folders: 2, retentionDays: 30 } }, ['2 folder(s), history kept 30 day(s)']],
    [{ type: 'relay.block.quarantined', detail: { cid: 'bafk' } }, ['block bafk is damaged on disk; quarantined, devices will upload it again']],
    [{ type: 'metrics.listening', detail: { url: 'http://127.0.0.1:9/metrics' } }, ['metrics on http://127.0.0.1:9/metrics']],
    [{ type: 'stun.listening', detail: { address: 'udp 0.0.0.0:4001' } }, ['STUN on udp 0.0.0.0:4001']],
    [{ type: 'stun.unavailable', detail: { reason: 'EADDRINUSE' } }, ['no STUN: EADDRINUSE']],
    [{ type: 'relay.limit', detail: { device: dev, name: 'laptop', bytesToday: 11, dailyBytes: 10 } }, [`relay limit: laptop (${dev}) relayed 11 of 10 bytes today; nothing more is relayed for it until tomorrow (UTC)`]],
    [{ type: 'relay.limit', detail: { device: dev, relay: 'R' } }, [`relay R carries no more relayed data for ${dev} today (its daily limit is reached)`]],
    [{ type: 'file.applied', detail: { folder: 'docs', action: 'fetch', path: 'a' } }, []],
    [{ type: 'transfer.snapshot', detail: { transfers: [] } }, []]
  ]
  it.each(cases)('%j', (e, lines) => {
    expect(eventLines(e)).toEqual(lines)
  })

  it('config entries skipped: one line each, at most 20, then a count', () => {
    const entries = Array.from({ length: 23 }, (_, i) => `devices.d${i}: bad`)
    const lines = eventLines({ type: 'config.skipped', detail: { entries } })
    expect(lines).toHaveLength(21)
    expect(lines[0]).toBe('config: skipped devices.d0: bad')
    expect(lines[20]).toBe('config: skipped 3 more entries')
  })

  it('the daemon output stamps and sanitises lines, and hands transfer snapshots to the progress view', () => {
    const events = new NodeEvents()
    const printed: string[] = []
    const updates: number[] = []
    printNodeEvents(events, { print: line => printed.push(line), update: t => updates.push(t.length) })
    events.emit({ type: 'folder.resumed', detail: { folder: 'do\x1bcs' } })
    events.emit({ type: 'transfer.snapshot', detail: { transfers: [] } })
    expect(printed).toHaveLength(1)
    expect(printed[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} do.*cs: resumed: its root is back$/)
    expect(printed[0]).not.toContain('\x1b')
    expect(updates).toEqual([0])
  })
})

describe('public events (GET /events)', () => {
  it('keep their JSON shapes, field order included', () => {
    const json = (e: NodeEvent): string[] => publicEventsOf(e).map(f => JSON.stringify(f))
    expect(json({ type: 'peer.connected', detail: { device: dev, name: 'l' } })).toEqual([`{"type":"peer.connected","device":"${dev}","name":"l"}`])
    expect(json({ type: 'peer.disconnected', detail: { device: dev } })).toEqual([`{"type":"peer.disconnected","device":"${dev}"}`])
    expect(json({ type: 'conflict', detail: { folder: 'f', path: 'p', conflictPath: 'c', winner: 'w', kept: 'k' } })).toEqual(['{"type":"conflict","folder":"f","path":"p","conflictPath":"c","device":"w","keptFrom":"k"}'])
    expect(json({ type: 'file.error', detail: { folder: 'f', path: 'p', code: 'C', reason: 'r' } })).toEqual(['{"type":"file.error","folder":"f","path":"p","code":"C","reason":"r"}'])
    expect(json({ type: 'file.error.cleared', detail: { folder: 'f', path: 'p' } })).toEqual(['{"type":"file.error.cleared","folder":"f","path":"p"}'])
    expect(json({ type: 'folder.stopped', detail: { folder: 'f', code: 'C', reason: 'r' } })).toEqual(['{"type":"folder.stopped","folder":"f","code":"C","reason":"r"}'])
    expect(json({ type: 'relay.limit', detail: { device: dev, relay: 'R' } })).toEqual([`{"type":"relay.limit","device":"${dev}","relay":"R"}`])
    // the relay's own limit event is not a device's public event
    expect(json({ type: 'relay.limit', detail: { device: dev, bytesToday: 2, dailyBytes: 1 } })).toEqual([])
    expect(json({ type: 'folder.resumed', detail: { folder: 'f' } })).toEqual(['{"type":"folder.resumed","folder":"f"}'])
    expect(json({ type: 'deletes.held', detail: { folder: 'f', count: 2, paths: ['a'], reason: 'r' } })).toEqual(['{"type":"deletes.held","folder":"f","count":2,"paths":["a"],"reason":"r"}'])
    expect(json({ type: 'deletes.confirmed', detail: { folder: 'f', count: 2 } })).toEqual(['{"type":"deletes.confirmed","folder":"f","count":2}'])
    expect(json({ type: 'share.accepted', detail: { folder: 'f', device: dev, role: 'read-only' } })).toEqual([`{"type":"share.accepted","folder":"f","device":"${dev}","role":"read-only"}`])
    expect(json({ type: 'file.added', detail: { folder: 'f', path: 'p', entry: 'file', size: 3, device: dev } })).toEqual([`{"type":"file.added","folder":"f","path":"p","entry":"file","size":3,"device":"${dev}"}`])
    expect(json({ type: 'file.renamed', detail: { folder: 'f', from: 'o', path: 'p', entry: 'file', size: 3, device: dev } })).toEqual([`{"type":"file.renamed","folder":"f","from":"o","path":"p","entry":"file","size":3,"device":"${dev}"}`])
    expect(json({ type: 'transfer.snapshot', detail: { transfers: [{ folder: 'f', path: 'p', sizeBytes: 10, doneBytes: 5, bytesPerSecond: 5, etaSeconds: 1, startedAt: 1 }] } }))
      .toEqual(['{"type":"transfer.progress","folder":"f","path":"p","sizeBytes":10,"doneBytes":5,"bytesPerSecond":5}'])
    expect(json({ type: 'folder.scanned', detail: { folder: 'f', files: 1, changed: 1, ms: 1 } })).toEqual([])
  })

  it('are published on the bus that GET /events streams', () => {
    const events = new NodeEvents()
    const bus = new EventBus()
    publishPublicEvents(events, bus)
    events.emit({ type: 'folder.resumed', detail: { folder: 'f' } })
    events.emit({ type: 'node.listening', detail: { addr: 'x' } })
    expect(bus.since(0).events.map(e => e.type)).toEqual(['folder.resumed'])
  })
})
