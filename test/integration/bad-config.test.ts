import { describe, it, expect, afterEach } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { callDaemon } from '../../src/control/control-client.ts'
import { Lab, ferry, ferryOk, status, waitFor } from '../helpers/ferry-process.ts'

describe('bad entries in config.json', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('are skipped and reported at start and on reload; the daemon stays up; an unusable file is a one-line error', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--addr', b.addr])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    const file = join(a.home, 'config.json')
    const config = JSON.parse(await readFile(file, 'utf8')) as { devices: Record<string, unknown>, folders: Record<string, { path?: string, members: Record<string, unknown> }> }
    // what a hand edit can leave behind
    config.devices.notapeer = { addrs: [] }
    config.devices[b.id] = { addrs: ['garbage', 42, b.addr] }
    config.folders.docs!.members.notapeer = 'read-write'
    config.folders.rel = { path: 'relative/path', members: {} }
    await writeFile(file, JSON.stringify(config, null, 2))

    await lab.start(b)
    await lab.start(a)
    expect(a.log).toContain('config: skipped device "notapeer": not a device id')
    expect(a.log).toContain(`config: skipped device ${b.id}: address "garbage": not a multiaddr`)
    expect(a.log).toContain(`config: skipped device ${b.id}: address 42: not a multiaddr`)
    expect(a.log).toContain('config: skipped folder docs: member "notapeer": not a device id')
    expect(a.log).toContain('config: skipped folder "rel": path "relative/path": not an absolute path')
    // the good entries work: b is dialled at its good address (b does not trust a: never connects)
    const s = await status(a)
    expect(s.peers.map(p => p.id)).toEqual([b.id])
    expect(s.folders.map(f => f.id)).toEqual(['docs'])

    // the config is read again while running (every CLI change, POST /reload)
    config.devices['12D3KooWbad'] = { addrs: ['/ip4/1.2.3.4/tcp/1'] }
    config.devices[b.id] = { addrs: { not: 'a list' } }
    await writeFile(file, JSON.stringify(config, null, 2))
    await callDaemon(a.home, 'POST', '/reload')
    await waitFor('the reload to report', () => a.log.includes('config: skipped device "12D3KooWbad": not a device id'))
    expect(a.log).toContain(`config: skipped device ${b.id}: addrs {"not":"a list"}: not an array`)
    expect((await status(a)).peers.map(p => p.id)).toEqual([b.id])
    expect(a.log).not.toMatch(/TypeError|Unhandled|at .*\.ts:\d+/)
    expect(a.process?.exitCode).toBe(null)

    // a file that is unusable as a whole: `ferry start` refuses with one line
    await lab.stop(a)
    await writeFile(file, JSON.stringify({ version: 2, devices: {}, folders: {} }))
    const r = await ferry(['--home', a.home, 'start', '--no-mdns', '--listen', a.addr])
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')[0]).toMatch(/^ferry: .*config\.json: unknown version 2/)
  })
})
