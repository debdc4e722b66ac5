import { describe, it, expect } from 'vitest'
import { EventBus, type FerryEvent } from '../../src/events/event-bus.ts'
import { pairRenames } from '../../src/events/file-events.ts'

const dev = '12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5'

describe('EventBus', () => {
  it('numbers events in increasing order and replays what a client missed from a bounded ring', () => {
    const bus = new EventBus({ ringSize: 3 })
    const live: FerryEvent[] = []
    const off = bus.subscribe(e => live.push(e))
    const sent = [1, 2, 3, 4, 5].map(i => bus.publish({ type: 'peer.connected', device: `${dev}${i}` }))
    off()
    bus.publish({ type: 'peer.disconnected', device: dev })
    expect(live.map(e => e.id)).toEqual(sent.map(e => e.id))
    expect(sent.every((e, i) => i === 0 || e.id > sent[i - 1]!.id)).toBe(true)
    // the ring holds the last 3: 4, 5 and the disconnect
    expect(bus.since(sent[3]!.id)).toMatchObject({ complete: true, events: [{ id: sent[4]!.id }, { type: 'peer.disconnected' }] })
    expect(bus.since(sent[0]!.id).complete).toBe(false)
    expect(bus.since(sent[0]!.id).events).toHaveLength(3)
  })

  it('does not keep progress events for replay', () => {
    const bus = new EventBus()
    const before = bus.publish({ type: 'peer.connected', device: dev })
    bus.publish({ type: 'transfer.progress', folder: 'f', path: 'p', sizeBytes: 10, doneBytes: 5, bytesPerSecond: 5 })
    expect(bus.since(before.id).events).toEqual([])
  })
})

describe('pairRenames', () => {
  const ev = (type: 'file.added' | 'file.deleted' | 'file.changed', path: string, key: string, size = 5) =>
    ({ event: { type, folder: 'f', path, entry: 'file' as const, size, device: dev }, key })

  it('a delete and an add of the same content become one rename where the second one was', () => {
    const out = pairRenames([ev('file.added', 'other', 'file:-:3:c'), ev('file.deleted', 'a', 'file:-:5:k'), ev('file.changed', 'x', 'file:-:5:z'), ev('file.added', 'b', 'file:-:5:k')])
    expect(out.map(e => e.type)).toEqual(['file.added', 'file.changed', 'file.renamed'])
    expect(out[2]).toMatchObject({ from: 'a', path: 'b', size: 5 })
    // added first, deleted second: still a rename
    expect(pairRenames([ev('file.added', 'b', 'file:-:5:k'), ev('file.deleted', 'a', 'file:-:5:k')])).toMatchObject([{ type: 'file.renamed', from: 'a', path: 'b' }])
  })

  it('leaves empty files and different content alone', () => {
    expect(pairRenames([ev('file.deleted', 'a', 'file:-:0:', 0), ev('file.added', 'b', 'file:-:0:', 0)]).map(e => e.type)).toEqual(['file.deleted', 'file.added'])
    expect(pairRenames([ev('file.deleted', 'a', 'file:-:5:k'), ev('file.added', 'b', 'file:-:5:j')]).map(e => e.type)).toEqual(['file.deleted', 'file.added'])
  })
})
