import { describe, it, expect, afterEach } from 'vitest'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferry, status, waitConverged, waitFor, writeRandomFile, type Device } from '../helpers/ferry-process.ts'
import { relayStatus, useRelay, useRelayLabs, waitUploaded } from '../helpers/relay-process.ts'
import { scrape, type Scrape } from '../helpers/prometheus-text.ts'
import { storedRelayBlocks } from '../helpers/relay-blocks.ts'

interface ApiInfo { port: number, token: string }

async function apiInfo (d: Device): Promise<ApiInfo> {
  return JSON.parse(await readFile(join(d.home, 'api.json'), 'utf8')) as ApiInfo
}

async function scrapeDaemon (d: Device): Promise<Scrape> {
  const info = await apiInfo(d)
  const r = await scrape(`http://127.0.0.1:${info.port}/metrics`, { authorization: `Bearer ${info.token}` })
  expect(r.status).toBe(200)
  expect(r.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
  return r.scrape!
}

describe('daemon metrics (GET /metrics)', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('after a two-device sync: block traffic counted on both sides, folder gauges as `ferry status` says, token required', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await writeRandomFile(join(a.folder, 'big.bin'), 3)
    await mkdir(join(a.folder, 'dir'))
    await writeFile(join(a.folder, 'dir/small.txt'), 'small')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitConverged([a, b])

    // no token, a wrong one: 401, as every route
    const info = await apiInfo(b)
    for (const headers of [{}, { authorization: 'Bearer nope' }] as Array<Record<string, string>>) {
      expect((await scrape(`http://127.0.0.1:${info.port}/metrics`, headers)).status).toBe(401)
    }

    const mb = await scrapeDaemon(b)
    const ma = await scrapeDaemon(a)
    // families are typed as Prometheus expects: counters end in _total
    for (const f of mb.families.filter(f => f.name.startsWith('ferry_'))) expect(f.name.endsWith('_total'), f.name).toBe(f.type === 'COUNTER')
    // the process's own metrics (the CLI's daemon is alone in its process)
    expect(mb.value('process_resident_memory_bytes')).toBeGreaterThan(0)
    // and libp2p's own (@libp2p/prometheus-metrics): connections, streams, bytes per protocol
    const libp2pFamilies = mb.families.filter(f => f.name.startsWith('libp2p_')).map(f => f.name)
    expect(libp2pFamilies.length, libp2pFamilies.join(' ')).toBeGreaterThan(3)
    expect(libp2pFamilies).toContain('libp2p_data_transfer_bytes_total')
    expect(mb.value('ferry_block_received_bytes_total', { peer: a.id })).toBeGreaterThanOrEqual(3 * 1024 * 1024)
    expect(mb.value('ferry_blocks_fetched_total', { peer: a.id })).toBeGreaterThan(0)
    expect(ma.value('ferry_block_sent_bytes_total', { peer: b.id })).toBeGreaterThanOrEqual(3 * 1024 * 1024)
    expect(ma.value('ferry_blocks_served_total', { peer: b.id })).toBe(mb.value('ferry_blocks_fetched_total', { peer: a.id }))
    expect(mb.value('ferry_files_applied_total', { folder: 'docs', action: 'fetch' })).toBeGreaterThanOrEqual(2)
    expect(mb.value('ferry_index_records_received_total', { peer: a.id })).toBeGreaterThan(0)
    expect(mb.value('ferry_peers_connected')).toBe(1)
    // how the peer is reached, and no lag once in sync
    expect(mb.value('ferry_peer_info', { peer: a.id, path: 'lan', transport: 'tcp' })).toBe(1)
    expect(mb.value('ferry_folder_out_of_sync_seconds', { folder: 'docs' })).toBe(0)
    expect(mb.value('ferry_folder_transfers', { folder: 'docs' })).toBe(0)
    expect(mb.value('ferry_uploads_active')).toBeGreaterThanOrEqual(0)
    expect(mb.value('ferry_event_stream_clients')).toBe(0)

    // the folder gauges say what `ferry status --json` says
    for (const d of [a, b]) {
      const cli = await ferry(['--home', d.home, 'status', '--json'])
      expect(cli.code).toBe(0)
      const f = (JSON.parse(cli.stdout) as Awaited<ReturnType<typeof status>>).folders[0]!
      const m = await scrapeDaemon(d)
      const folder = { folder: 'docs' }
      expect(m.value('ferry_folder_need_files', folder)).toBe(f.needFiles)
      expect(m.value('ferry_folder_need_bytes', folder)).toBe(f.needBytes)
      expect(m.value('ferry_folder_in_sync', folder)).toBe(f.inSync ? 1 : 0)
      expect(m.value('ferry_folder_in_sync', folder)).toBe(1)
      expect(m.value('ferry_folder_stopped', folder)).toBe(f.stopped === undefined ? 0 : 1)
      expect(m.value('ferry_folder_held_deletes', folder)).toBe(f.heldDeletes?.count ?? 0)
      expect(m.value('ferry_folder_local_files', folder)).toBe(f.localFiles)
      expect(m.value('ferry_folder_local_bytes', folder)).toBe(f.localBytes)
      expect(m.value('ferry_folder_path_errors', folder) ?? 0).toBe(f.errorCount)
    }

    // an open event stream shows in the clients gauge
    const events = new AbortController()
    const res = await fetch(`http://127.0.0.1:${info.port}/events`, { headers: { authorization: `Bearer ${info.token}` }, signal: events.signal })
    const reader = res.body!.getReader()
    await reader.read()
    expect((await scrapeDaemon(b)).value('ferry_event_stream_clients')).toBe(1)
    events.abort()
    await waitFor('the stream is gone', async () => (await scrapeDaemon(b)).value('ferry_event_stream_clients') === 0)

    // a change made on b is applied on a, and counted there
    await writeFile(join(b.folder, 'late.txt'), 'late')
    await waitConverged([a, b])
    expect((await scrapeDaemon(a)).value('ferry_files_applied_total', { folder: 'docs', action: 'fetch' })).toBeGreaterThanOrEqual(1)
  })
})

describe('relay metrics (ferry relay --metrics-listen)', () => {
  const env = useRelayLabs()

  it('serves storage, upload and download on loopback without a token', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay', { args: ['--metrics-listen', '0'] })
    const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(r.log)?.[1]
    expect(url, r.log).toBeDefined()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await useRelay(a, r)
    await useRelay(b, r)
    await writeRandomFile(join(a.folder, 'big.bin'), 2)
    await writeFile(join(a.folder, 'note.txt'), 'hello')

    const empty = await scrape(url!)
    expect(empty.status).toBe(200)
    expect(empty.scrape!.value('ferry_relay_stored_blocks')).toBe(0)
    expect(empty.scrape!.value('process_resident_memory_bytes')).toBeGreaterThan(0)

    // A uploads alone, then B (A stopped) downloads from the relay
    await lab.start(a)
    await waitUploaded(a)
    const up = (await scrape(url!)).scrape!
    const rs = await relayStatus(r)
    expect(up.value('ferry_relay_stored_blocks')).toBeGreaterThan(0)
    expect(up.value('ferry_relay_stored_bytes')).toBeGreaterThanOrEqual(2 * 1024 * 1024)
    expect(up.value('ferry_relay_received_block_bytes_total')).toBe(rs.receivedBlockBytes)
    expect(up.value('ferry_relay_received_blocks_total')).toBe(rs.receivedBlocks)
    expect(up.value('ferry_relay_upload_record_bytes_total')).toBeGreaterThan(0)
    expect(up.value('ferry_relay_members_connected')).toBe(1)
    expect(up.value('ferry_relay_folder_paths', { folder: 'docs' })).toBe(rs.folders.find(f => f.id === 'docs')!.paths)
    // per folder: the distinct blocks its records reference: 2 MiB of random bytes + 5 bytes and
    // the records' payloads, sealed (padded, with tags): every block the relay holds
    const docs = rs.folders.find(f => f.id === 'docs')!
    const held = (await storedRelayBlocks(r.home)).reduce((n, b) => n + b.size, 0)
    expect(docs.storedBytes).toBeGreaterThan(2 * 1024 * 1024 + 5)
    expect(docs.storedBytes).toBe(held)
    expect(up.value('ferry_relay_folder_stored_bytes', { folder: 'docs' })).toBe(docs.storedBytes)
    expect(up.value('ferry_relay_folder_stored_blocks', { folder: 'docs' })).toBe(docs.storedBlocks)
    await lab.stop(a)

    await lab.start(b)
    await waitFor('b has the files', async () => (await status(b)).folders[0]!.localFiles === 2, 90_000)
    const down = (await scrape(url!)).scrape!
    expect(down.value('ferry_relay_sent_block_bytes_total')).toBeGreaterThanOrEqual(2 * 1024 * 1024)
    expect(down.value('ferry_relay_blocks_served_total')).toBeGreaterThan(0)
    expect(down.value('ferry_relay_members_connected')).toBe(1)
    expect((await scrape(url!.replace('/metrics', '/other'))).status).toBe(404)
  })

  it('refuses a non-loopback address with a one-line usage error', async () => {
    for (const bad of ['0.0.0.0:9464', '192.0.2.1:9464', 'nonsense', '127.0.0.1:99999']) {
      const r = await ferry(['--home', join(env.lab.dir, 'unused'), 'relay', '--metrics-listen', bad])
      expect(r.code).toBe(2)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(/--metrics-listen/)
    }
  })
})
