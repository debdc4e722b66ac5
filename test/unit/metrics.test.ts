import { describe, it, expect } from 'vitest'
import { register } from 'prom-client'
import { DaemonMetrics } from '../../src/daemon/daemon-metrics.ts'
import { parseMetricsListen } from '../../src/metrics/metrics-server.ts'
import type { DaemonStatus } from '../../src/daemon/status-types.ts'
import { Scrape } from '../helpers/prometheus-text.ts'

function statusWith (folder: Partial<DaemonStatus['folders'][number]>): DaemonStatus {
  return {
    deviceId: 'self',
    listenAddrs: [],
    peers: [{ id: 'p1', connected: true, addrs: [] }, { id: 'p2', connected: false, addrs: [] }],
    folders: [{ id: 'docs', path: '/x', inSync: false, needFiles: 3, needBytes: 300, scanning: false, localFiles: 1, localBytes: 10, stateHash: '', transfers: [], errors: [], errorCount: 0, ...folder }],
    receivedBytes: { p1: 1234 },
    indexTraffic: { p1: { records: 5, receivedBytes: 50, sentBytes: 40 } }
  }
}

const idle = { clients: 0, bufferedBytes: 0, dropped: 0, refused: 0 }

describe('daemon metrics', () => {
  it('each daemon has its own registry; nothing lands in prom-client\'s global one', async () => {
    const one = new DaemonMetrics({ status: () => statusWith({}), eventStreams: () => idle, blocksFetched: () => new Map([['p1', 2]]) })
    const two = new DaemonMetrics({ status: () => statusWith({ needFiles: 7 }), eventStreams: () => idle, blocksFetched: () => new Map() })
    one.served('p1', new Uint8Array(100))
    const a = new Scrape(await one.scrape())
    const b = new Scrape(await two.scrape())
    expect(a.value('ferry_folder_need_files', { folder: 'docs' })).toBe(3)
    expect(b.value('ferry_folder_need_files', { folder: 'docs' })).toBe(7)
    expect(a.value('ferry_block_sent_bytes_total', { peer: 'p1' })).toBe(100)
    expect(b.value('ferry_block_sent_bytes_total', { peer: 'p1' })).toBeUndefined()
    expect(a.value('ferry_blocks_fetched_total', { peer: 'p1' })).toBe(2)
    expect(a.value('ferry_block_received_bytes_total', { peer: 'p1' })).toBe(1234)
    expect(a.value('ferry_peers_connected')).toBe(1)
    expect(await register.metrics()).not.toMatch(/ferry_/)
  })

  it('path errors by code, stopped, held deletes; a status that cannot be had gives no folder series', async () => {
    const since = Date.now()
    let status: DaemonStatus | undefined = statusWith({
      errors: [{ path: 'a', code: 'ERR_A', reason: '', since }, { path: 'b', code: 'ERR_A', reason: '', since }, { path: 'c', code: 'ERR_B', reason: '', since }],
      errorCount: 5,
      stopped: { code: 'ERR_FERRY_ROOT_MISSING', reason: 'gone', since },
      heldDeletes: { count: 42, paths: [], since, reason: '' }
    })
    const m = new DaemonMetrics({ status: () => status, eventStreams: () => idle, blocksFetched: () => new Map() })
    const s = new Scrape(await m.scrape())
    expect(s.value('ferry_folder_path_errors', { folder: 'docs', code: 'ERR_A' })).toBe(2)
    expect(s.value('ferry_folder_path_errors', { folder: 'docs', code: 'ERR_B' })).toBe(1)
    expect(s.value('ferry_folder_path_errors', { folder: 'docs', code: 'unlisted' })).toBe(2)
    expect(s.value('ferry_folder_stopped', { folder: 'docs' })).toBe(1)
    expect(s.value('ferry_folder_held_deletes', { folder: 'docs' })).toBe(42)
    status = undefined
    const none = new Scrape(await m.scrape())
    expect(none.value('ferry_folder_need_files', { folder: 'docs' })).toBeUndefined()
  })
})

describe('--metrics-listen', () => {
  it('takes [HOST:]PORT on loopback only', () => {
    expect(parseMetricsListen('9464')).toEqual({ host: '127.0.0.1', port: 9464 })
    expect(parseMetricsListen(':0')).toEqual({ host: '127.0.0.1', port: 0 })
    expect(parseMetricsListen('localhost:9464')).toEqual({ host: 'localhost', port: 9464 })
    expect(parseMetricsListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 })
    for (const bad of ['0.0.0.0:9464', '[::]:9464', 'example.com:80', '10.0.0.1:1', '127.0.0.1:65536', 'x', '', '127.0.0.1:']) {
      expect(() => parseMetricsListen(bad), bad).toThrow(/--metrics-listen/)
    }
  })
})
