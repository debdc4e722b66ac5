import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ferry, ferryOk, freePort, Lab, status } from '../helpers/ferry-process.ts'
import { encodePairingCode } from '../../src/sharing/pairing-code.ts'
import type { Config } from '../../src/config/config.ts'

/** The CLI's guard rails: folders it refuses, a private home, names that cannot steer a terminal, complete output, clean failed starts. */
describe('ferry CLI safety', () => {
  let dir: string
  let home: string
  let id: string
  const other = '12D3KooWHvzTkzGC4YXdhRnQsg2CTQSG6EueBw14WuwC17tHGg6W'
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-cli-safety-'))
    home = join(dir, 'home')
    id = (await ferryOk(['--home', home, 'init'])).trim().split('\n').at(-1)!
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  const config = async (h = home): Promise<Config> => JSON.parse(await readFile(join(h, 'config.json'), 'utf8')) as Config
  const oneLineError = (r: { code: number, stderr: string }, pattern: RegExp): void => {
    expect(r.code, r.stderr).not.toBe(0)
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1)
    expect(r.stderr).toMatch(/^ferry: /)
    expect(r.stderr).not.toContain('unexpected error')
    expect(r.stderr).toMatch(pattern)
  }

  it('folder add refuses /, kernel filesystems, the home, a file and a second name for a folder', async () => {
    await ferryOk(['--home', home, 'folder', 'add', join(dir, 'docs'), '--id', 'docs'])
    await symlink(join(dir, 'docs'), join(dir, 'docs-link'))
    await writeFile(join(dir, 'plain.txt'), 'a file')
    const refused: Array<[string, RegExp]> = [
      ['/', /whole filesystem/],
      ['/proc', /kernel filesystem/],
      ['/sys/kernel', /kernel filesystem/],
      ['/dev/shm', /kernel filesystem/],
      [home, /overlaps ferry's home/],
      [join(home, 'db'), /overlaps ferry's home/],
      [dir, /overlaps ferry's home/],
      [join(dir, 'docs-link'), /same directory as folder docs/],
      [join(dir, 'docs-link', 'inner'), /overlaps folder docs/],
      [join(dir, 'plain.txt'), /is a file, not a directory/]
    ]
    for (const [path, why] of refused) oneLineError(await ferry(['--home', home, 'folder', 'add', path, '--id', 'more']), why)
    expect(Object.keys((await config()).folders)).toEqual(['docs'])
    // the file is untouched
    expect(await readFile(join(dir, 'plain.txt'), 'utf8')).toBe('a file')
  })

  it('join checks the path the same way, before reaching the inviter', async () => {
    const code = encodePairingCode({ folder: 'shared', device: other, addrs: ['/ip4/127.0.0.1/tcp/1'], secret: randomBytes(32) })
    oneLineError(await ferry(['--home', home, 'join', code, join(home, 'shared')]), /overlaps ferry's home/)
    oneLineError(await ferry(['--home', home, 'join', code, join(dir, 'docs-link')]), /same directory as folder docs/)
    oneLineError(await ferry(['--home', home, 'join', code, join(dir, 'new'), '--name', 'bad\nname']), /control character/)
    expect(Object.keys((await config()).folders)).toEqual(['docs'])
    expect((await config()).devices).toEqual({})
  })

  it('init makes an open home private (0700), and refuses a home of another user', async () => {
    const open = join(dir, 'open-home')
    await mkdir(open)
    await chmod(open, 0o777)
    const r = await ferry(['--home', open, 'init'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('from mode 0777 to 0700')
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^12D3KooW/)
    expect((await stat(open)).mode & 0o777).toBe(0o700)
    if (process.getuid?.() === 0) {
      // as root the test can make a directory that belongs to someone else
      const foreign = join(dir, 'foreign-home')
      await mkdir(foreign)
      await chmod(foreign, 0o777)
      await chown(foreign, 54321, 54321)
      oneLineError(await ferry(['--home', foreign, 'init']), /belongs to another user/)
      await expect(lstat(join(foreign, 'device.key'))).rejects.toThrow()
      expect((await stat(foreign)).mode & 0o777).toBe(0o777)
    }
  })

  it('device names with line breaks or escapes are refused; such a name already in config.json is printed escaped', async () => {
    oneLineError(await ferry(['--home', home, 'device', 'add', other, '--name', 'lap\ntop']), /control character/)
    oneLineError(await ferry(['--home', home, 'device', 'add', other, '--name', 'red\u001b[31m']), /control character/)
    oneLineError(await ferry(['--home', home, 'device', 'add', other, '--name', 'abc\u202edef']), /control character/)
    expect((await config()).devices).toEqual({})
    // a name that got into config.json some other way
    const c = await config()
    c.devices[other] = { name: 'evil\n12:00:00.000 forged line\u001b[2J', addrs: [] }
    await writeFile(join(home, 'config.json'), JSON.stringify(c))
    const r = await ferry(['--home', home, 'device', 'add', other, '--addr', '/ip4/127.0.0.1/tcp/4001'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n')).toHaveLength(1)
    expect(r.stdout).not.toContain('\u001b')
    expect(r.stdout).toContain('evil\\n12:00:00.000 forged line\\x1b[2J')
    // --json keeps the name as it is (JSON escapes it)
    const json = await ferry(['--home', home, 'device', 'add', other, '--json'])
    expect((JSON.parse(json.stdout) as { name: string }).name).toBe(c.devices[other].name)
  })

  it('output longer than a pipe buffer (64 KiB) arrives whole', async () => {
    const big = join(dir, 'big-home')
    await ferryOk(['--home', big, 'init'])
    const c = await config(big)
    const FOLDERS = 1500
    for (let i = 0; i < FOLDERS; i++) c.folders[`f${i}`] = { path: join(dir, 'many', `${'x'.repeat(150)}-${i}`), members: {} }
    await writeFile(join(big, 'config.json'), JSON.stringify(c))
    const r = await ferry(['--home', big, 'folder', 'list', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.length).toBeGreaterThan(4 * 64 * 1024)
    const list = JSON.parse(r.stdout) as Array<{ id: string }>
    expect(list).toHaveLength(FOLDERS)
    expect(list.at(-1)!.id).toBe(`f${FOLDERS - 1}`)
    const text = await ferry(['--home', big, 'folder', 'list'])
    expect(text.stdout.trim().split('\n')).toHaveLength(FOLDERS)
  })

  describe('a start that fails leaves nothing behind', () => {
    let lab: Lab
    let busy: Server
    let busyPort: number
    beforeAll(async () => {
      lab = new Lab()
      await lab.setup()
      busy = createServer()
      await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
      busyPort = (busy.address() as { port: number }).port
    })
    afterAll(async () => {
      await new Promise(resolve => busy.close(resolve))
      await lab.cleanup()
    })

    it('bad --listen, a listen port in use and an API port in use are one-line errors; api.json and the socket are gone; then a good start works', async () => {
      const d = await lab.device('solo')
      const start = async (why: RegExp, ...args: string[]): Promise<void> => {
        const r = await ferry(['--home', d.home, 'start', '--no-mdns', ...args])
        oneLineError(r, why)
        await expect(lstat(join(d.home, 'api.json')), r.stderr).rejects.toThrow()
        await expect(lstat(join(d.home, 'daemon.sock')), r.stderr).rejects.toThrow()
      }
      await start(/--listen takes a multiaddr/, '--listen', 'garbage')
      // the node fails after the socket and api.json were made: they are removed again
      await start(new RegExp(`cannot listen on /ip4/127.0.0.1/tcp/${busyPort} \\(address already in use\\)`), '--listen', `/ip4/127.0.0.1/tcp/${busyPort}`)
      await start(/API port \d+ is in use/, '--listen', `/ip4/127.0.0.1/tcp/${await freePort()}`, '--api-port', String(busyPort))
      await lab.start(d)
      expect((await status(d)).deviceId).toBe(d.id)
    })
  })
})
