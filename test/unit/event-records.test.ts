import { describe, it, expect } from 'vitest'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventRecord } from '../../src/logging/event-records.ts'
import { createLogger, logNodeEvents } from '../../src/logging/logger.ts'
import { NodeEvents } from '../../src/events/node-events.ts'
import type { NodeEvent } from '../../src/events/event-catalog.ts'

const dev = '12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5'

describe('log records of node events', () => {
  it('what changed is info, what a user must act on is warn, engine steps are debug', () => {
    const levels: Array<[NodeEvent, string | undefined]> = [
      [{ type: 'file.added', detail: { folder: 'docs', path: 'a.txt', entry: 'file', size: 3, device: dev } }, 'info'],
      [{ type: 'file.deleted', detail: { folder: 'docs', path: 'a.txt', entry: 'file', size: 0, device: dev } }, 'info'],
      [{ type: 'conflict', detail: { folder: 'docs', path: 'a.txt', conflictPath: 'a.conflict.txt', winner: dev, kept: dev } }, 'info'],
      [{ type: 'peer.connected', detail: { device: dev } }, 'info'],
      [{ type: 'replica.uploaded', detail: { folder: 'docs', replica: dev, records: 2, blockBytes: 10 } }, 'info'],
      [{ type: 'file.error', detail: { folder: 'docs', path: 'b', code: 'ERR_FERRY_UNREADABLE', reason: 'EACCES' } }, 'warn'],
      [{ type: 'folder.stopped', detail: { folder: 'docs', code: 'ERR_FERRY_ROOT_MISSING', reason: 'gone' } }, 'warn'],
      [{ type: 'config.skipped', detail: { entries: ['device x: bad'] } }, 'warn'],
      [{ type: 'watcher.failed', detail: { folder: 'docs', root: '/r', error: 'inotify limit' } }, 'warn'],
      [{ type: 'file.applied', detail: { folder: 'docs', action: 'fetch', path: 'a.txt' } }, 'debug'],
      [{ type: 'transfer.snapshot', detail: { transfers: [] } }, undefined]
    ]
    for (const [e, level] of levels) expect(eventRecord(e)?.level, e.type).toBe(level)
    expect(eventRecord(levels[0]![0])).toEqual({ level: 'info', msg: 'docs: added a.txt', fields: { event: 'file.added', folder: 'docs', path: 'a.txt', entry: 'file', size: 3, device: dev } })
  })

  it('a log file gets one JSON record per event at the level or above, created 0600, messages without control characters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-log-'))
    try {
      const file = join(dir, 'ferry.log')
      const events = new NodeEvents()
      logNodeEvents(events, createLogger({ level: 'info', file })!)
      events.emit({ type: 'file.applied', detail: { folder: 'docs', action: 'fetch', path: 'a.txt' } })
      events.emit({ type: 'file.added', detail: { folder: 'docs', path: 'new\nline', entry: 'file', size: 1, device: dev } })
      events.emit({ type: 'file.error', detail: { folder: 'docs', path: 'b', code: 'ERR_FERRY_UNREADABLE', reason: 'EACCES' } })
      const records = (await readFile(file, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
      expect(records.map(r => [r.level, r.event])).toEqual([['info', 'file.added'], ['warn', 'file.error']])
      expect(records[0]).toMatchObject({ path: 'new\nline', msg: 'docs: added new\\nline' })
      expect(Number.isNaN(Date.parse(records[0]!.time as string))).toBe(false)
      expect((await stat(file)).mode & 0o777).toBe(0o600)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
