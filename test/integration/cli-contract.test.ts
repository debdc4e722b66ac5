import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ferry, freePort, Lab, status, waitFor } from '../helpers/ferry-process.ts'

/** The command-line contract other tools rely on: names, flags, output, exit codes. */
describe('ferry CLI', () => {
  let dir: string
  let home: string
  let id: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-cli-'))
    home = join(dir, 'home')
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  const oneLineError = (r: { code: number, stderr: string }): void => {
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^ferry: /)
  }

  it('init creates a 0600 key and prints the device id last; refuses to overwrite', async () => {
    const r = await ferry(['--home', home, 'init'])
    expect(r.code).toBe(0)
    id = r.stdout.trim().split('\n').at(-1)!
    expect(id).toMatch(/^12D3KooW/)
    expect((await stat(join(home, 'device.key'))).mode & 0o777).toBe(0o600)
    const again = await ferry(['--home', home, 'init'])
    oneLineError(again)
    expect((await ferry(['--home', home, 'id'])).stdout.trim()).toBe(id)
  })

  it('honours FERRY_HOME when --home is absent', async () => {
    const r = await ferry(['id'], { FERRY_HOME: home })
    expect(r.stdout.trim()).toBe(id)
  })

  it('folder add creates the directory; folder list shows it', async () => {
    const r = await ferry(['--home', home, 'folder', 'add', join(dir, 'new/sub'), '--id', 'photos'])
    expect(r.code).toBe(0)
    expect((await stat(join(dir, 'new/sub'))).isDirectory()).toBe(true)
    const list = JSON.parse((await ferry(['--home', home, 'folder', 'list', '--json'])).stdout) as Array<{ id: string, path: string }>
    expect(list).toEqual([{ id: 'photos', path: join(dir, 'new/sub'), members: {} }])
  })

  it('device add and share record trust and membership', async () => {
    const other = (await ferry(['--home', join(dir, 'other'), 'init'])).stdout.trim().split('\n').at(-1)!
    expect((await ferry(['--home', home, 'device', 'add', other, '--addr', '/ip4/127.0.0.1/tcp/4001', '--name', 'laptop'])).code).toBe(0)
    expect((await ferry(['--home', home, 'share', 'photos', other, '--read-only'])).code).toBe(0)
    const config = JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as { devices: Record<string, unknown>, folders: Record<string, { members: Record<string, string> }> }
    expect(config.devices[other]).toEqual({ name: 'laptop', addrs: ['/ip4/127.0.0.1/tcp/4001'] })
    expect(config.folders.photos!.members[other]).toBe('read-only')
  })

  it('bad input gets one clear line and a non-zero exit', async () => {
    oneLineError(await ferry(['--home', join(dir, 'nowhere'), 'id']))
    oneLineError(await ferry(['--home', home, 'folder', 'add', join(dir, 'x'), '--id', '../evil']))
    oneLineError(await ferry(['--home', home, 'folder', 'add', join(dir, 'x')]))
    oneLineError(await ferry(['--home', home, 'folder', 'add', join(dir, 'new/sub/inner'), '--id', 'nested']))
    oneLineError(await ferry(['--home', home, 'device', 'add', 'not-a-peer-id']))
    oneLineError(await ferry(['--home', home, 'device', 'add', id]))
    oneLineError(await ferry(['--home', home, 'device', 'add', '12D3KooWHvzTkzGC4YXdhRnQsg2CTQSG6EueBw14WuwC17tHGg6W', '--addr', 'tcp/nonsense']))
    oneLineError(await ferry(['--home', home, 'share', 'nope', id]))
    oneLineError(await ferry(['--home', home, 'share', 'photos', '12D3KooWHvzTkzGC4YXdhRnQsg2CTQSG6EueBw14WuwC17tHGg6W']))
    oneLineError(await ferry(['--home', home, 'frobnicate']))
    oneLineError(await ferry(['--home', home, 'status', '--bogus-flag']))
  })

  it('status says clearly when no daemon runs', async () => {
    const r = await ferry(['--home', home, 'status'])
    oneLineError(r)
    expect(r.stderr).toContain('no ferry daemon is running')
  })

  it('start runs until SIGTERM, status talks to it, a second start on the same home is refused', async () => {
    const lab = new Lab()
    await lab.setup()
    try {
      const d = await lab.device('solo')
      await lab.start(d)
      const s = await status(d)
      expect(s.deviceId).toBe(d.id)
      expect(s.listenAddrs.some(a => a.startsWith(d.addr))).toBe(true)
      expect(s.folders[0]).toMatchObject({ id: 'docs', path: d.folder })
      const text = await ferry(['--home', d.home, 'status'])
      expect(text.code).toBe(0)
      expect(text.stdout).toContain(d.id)
      const json = JSON.parse((await ferry(['--home', d.home, 'status', '--json'])).stdout) as { folders: Array<{ inSync: boolean, needFiles: number, needBytes: number }>, peers: unknown[] }
      expect(json.folders[0]).toHaveProperty('inSync')
      expect(json.folders[0]).toHaveProperty('needBytes')
      expect(Array.isArray(json.peers)).toBe(true)
      const second = await ferry(['--home', d.home, 'start', '--listen', `/ip4/127.0.0.1/tcp/${await freePort()}`, '--no-mdns'])
      oneLineError(second)
      expect(await lab.stop(d, 'SIGTERM')).toBe(0)
      await waitFor('socket gone', async () => (await ferry(['--home', d.home, 'status'])).code !== 0)
    } finally {
      await lab.cleanup()
    }
  })
})
