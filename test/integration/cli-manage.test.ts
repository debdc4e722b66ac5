import { describe, it, expect, afterEach } from 'vitest'
import { readFile, writeFile, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { Lab, ferry, ferryOk, REPO, status, waitFor, type Device } from '../helpers/ferry-process.ts'
import type { Config } from '../../src/config/config.ts'

/** `ferry --version`, `invite` for scripts, device names, and the device/folder management commands. */

const config = async (d: Device): Promise<Config> => JSON.parse(await readFile(join(d.home, 'config.json'), 'utf8')) as Config

const oneLineError = (r: { code: number, stderr: string, stdout: string }, pattern?: RegExp): void => {
  expect(r.code).not.toBe(0)
  expect(r.stdout).toBe('')
  expect(r.stderr.trim().split('\n')).toHaveLength(1)
  expect(r.stderr).toMatch(pattern ?? /^ferry: /)
}

const json = async <T>(args: string[]): Promise<T> => JSON.parse(await ferryOk([...args, '--json'])) as T

/** records the folder holds in the device's database (the daemon must not run) */
async function recordCount (home: string, folder: string): Promise<number> {
  const db = new ClassicLevel<string, Uint8Array>(join(home, 'db'), { valueEncoding: 'view' })
  await db.open()
  try {
    return (await db.sublevel<string, Uint8Array>(`f:${folder}`, { valueEncoding: 'view' }).keys().all()).length
  } finally { await db.close() }
}

describe('ferry CLI: versions, names and management commands', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('--version prints the package version; restore --version still takes a value', async () => {
    lab = new Lab()
    await lab.setup()
    const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string }
    const r = await ferry(['--version'])
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' })
    expect(await ferry(['--home', lab.dir, '--version'])).toMatchObject({ code: 0, stdout: `${version}\n` })
    const a = await lab.device('a')
    // (restore's own --version: the option still parses, the command then needs a daemon)
    oneLineError(await ferry(['--home', a.home, 'restore', 'docs', 'x.txt', '--version', 'abc']), /^ferry: restore needs the running daemon/)
  })

  it('names and id prefixes are accepted wherever a device goes; unknown and ambiguous ones are one-line errors', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    const c = await lab.device('c')
    const d = await lab.device('d')
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--name', 'desktop'])
    await ferryOk(['--home', a.home, 'device', 'add', c.id, '--name', 'twin'])
    await ferryOk(['--home', a.home, 'device', 'add', d.id, '--name', 'twin'])
    await ferryOk(['--home', a.home, 'share', 'docs', 'desktop'])
    expect((await config(a)).folders.docs!.members).toEqual({ [b.id]: 'read-write' })
    await ferryOk(['--home', a.home, 'share', 'docs', c.id.slice(0, 20), '--read-only'])
    expect((await config(a)).folders.docs!.members[c.id]).toBe('read-only')
    oneLineError(await ferry(['--home', a.home, 'share', 'docs', 'twin']), /^ferry: name "twin" matches 2 devices: .*\(give the full device id\)\n$/)
    oneLineError(await ferry(['--home', a.home, 'share', 'docs', 'laptop']), /^ferry: no device "laptop" \(.*ferry device list/)
    // a short prefix is no reference ("12D3KooW" starts every id)
    oneLineError(await ferry(['--home', a.home, 'share', 'docs', '12D3KooW']), /^ferry: no device "12D3KooW"/)
    await ferryOk(['--home', a.home, 'unshare', 'docs', 'desktop'])
    expect((await config(a)).folders.docs!.members).toEqual({ [c.id]: 'read-only' })

    const list = await json<Array<{ id: string, name?: string, addrs: string[], trusted: boolean, folders: Record<string, string>, connected?: boolean }>>(['--home', a.home, 'device', 'list'])
    expect(list).toEqual([
      { id: b.id, name: 'desktop', addrs: [], trusted: true, folders: {} },
      { id: c.id, name: 'twin', addrs: [], trusted: true, folders: { docs: 'read-only' } },
      { id: d.id, name: 'twin', addrs: [], trusted: true, folders: {} }
    ])
    expect(await ferryOk(['--home', a.home, 'device', 'list'])).toContain(`desktop ${b.id}`)

    // rename: validated like `device add --name`, and names stay unique
    oneLineError(await ferry(['--home', a.home, 'device', 'rename', 'desktop', 'bad\nname']), /^ferry: device name "bad\\nname" has a control character/)
    oneLineError(await ferry(['--home', a.home, 'device', 'rename', 'desktop', ' ']), /^ferry: a device name cannot be empty/)
    oneLineError(await ferry(['--home', a.home, 'device', 'rename', 'desktop', 'twin']), /^ferry: another device is already called "twin"/)
    oneLineError(await ferry(['--home', a.home, 'device', 'rename', 'twin', 'x']), /matches 2 devices/)
    await ferryOk(['--home', a.home, 'device', 'rename', d.id, 'laptop'])
    expect((await config(a)).devices[d.id]!.name).toBe('laptop')
    await ferryOk(['--home', a.home, 'share', 'docs', 'twin'])
    expect((await config(a)).folders.docs!.members[c.id]).toBe('read-write')

    // remove: out of devices and out of every folder
    oneLineError(await ferry(['--home', a.home, 'device', 'remove', 'nobody']), /^ferry: no device "nobody"/)
    const removed = await json<{ id: string, folders: string[], daemonReloaded: boolean }>(['--home', a.home, 'device', 'remove', 'twin'])
    expect(removed).toMatchObject({ id: c.id, folders: ['docs'], daemonReloaded: false })
    const after = await config(a)
    expect(after.devices[c.id]).toBeUndefined()
    expect(after.folders.docs!.members).toEqual({})
    oneLineError(await ferry(['--home', a.home, 'device', 'remove', c.id]), /is not trusted/)

    // folder commands: unknown folder, and rescan needs a daemon
    oneLineError(await ferry(['--home', a.home, 'folder', 'pause', 'nope']), /^ferry: no folder nope/)
    oneLineError(await ferry(['--home', a.home, 'folder', 'remove', 'nope']), /^ferry: no folder nope/)
    oneLineError(await ferry(['--home', a.home, 'folder', 'rescan', 'docs']), /^ferry: rescan needs the running daemon/)
    oneLineError(await ferry(['--home', a.home, 'device', 'frob']), /^ferry: unknown command 'frob' \(run `ferry device --help`\)/)
  })

  it('with daemons: invite prints only the code; device list shows connections; rename, rescan, pause/resume, remove', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await writeFile(join(a.folder, 'first.txt'), 'one')
    await lab.start(a)
    await lab.start(b)
    await waitFor('b has first.txt', async () => await readFile(join(b.folder, 'first.txt'), 'utf8').catch(() => '') === 'one', 60_000)

    // invite: stdout carries the code alone, so CODE=$(ferry invite docs) works
    const c = await lab.device('c', 'c-own')
    const invite = await ferry(['--home', a.home, 'invite', 'docs'])
    expect(invite.code).toBe(0)
    expect(invite.stdout).toMatch(/^ferry1:\S+\n$/)
    expect(invite.stderr).toMatch(/one-time code for docs/)
    const cDocs = join(dirname(c.folder), 'shared')
    await ferryOk(['--home', c.home, 'join', invite.stdout.trim(), cDocs])
    expect((await config(c)).folders.docs!.members[a.id]).toBe('owner')

    // device list: connected, from the running daemon
    await waitFor('a connected to b', async () => (await status(a)).peers.some(p => p.id === b.id && p.connected))
    const list = await json<Array<{ id: string, connected?: boolean }>>(['--home', a.home, 'device', 'list'])
    expect(list.find(d => d.id === b.id)?.connected).toBe(true)

    // rename reaches the running daemon
    await ferryOk(['--home', a.home, 'device', 'rename', 'b', 'desktop'])
    await waitFor('a calls b desktop', async () => (await status(a)).peers.find(p => p.id === b.id)?.name === 'desktop')

    // rescan: a full walk now (the periodic one is a minute away)
    await waitFor('a first full scan', async () => (await status(a)).folders[0]!.lastFullScanAt !== undefined)
    const before = (await status(a)).folders[0]!.lastFullScanAt!
    expect(await json<unknown>(['--home', a.home, 'folder', 'rescan', 'docs'])).toEqual({ folder: 'docs', requested: true })
    await waitFor('a rescanned', async () => ((await status(a)).folders[0]!.lastFullScanAt ?? 0) > before, 20_000)
    oneLineError(await ferry(['--home', a.home, 'folder', 'rescan', 'nope']), /^ferry: no folder nope/)

    // pause on b: no FolderSync runs, status says so, rescan is refused; resume brings what a wrote meanwhile
    await ferryOk(['--home', b.home, 'folder', 'pause', 'docs'])
    expect((await config(b)).folders.docs!.paused).toBe(true)
    await waitFor('b shows docs paused', async () => (await status(b)).folders.find(f => f.id === 'docs')?.paused === true)
    expect(await ferryOk(['--home', b.home, 'status'])).toContain('docs')
    expect(await ferryOk(['--home', b.home, 'status'])).toMatch(/docs .*: paused/)
    oneLineError(await ferry(['--home', b.home, 'folder', 'rescan', 'docs']), /^ferry: folder docs is paused/)
    await writeFile(join(a.folder, 'while-paused.txt'), 'two')
    await waitFor('a scanned while-paused.txt', () => a.log.includes('docs: scanned'))
    await waitFor('b reconnected to a', async () => (await status(b)).peers.some(p => p.id === a.id && p.connected))
    const pausedState = await status(b)
    expect(pausedState.folders.find(f => f.id === 'docs')).toMatchObject({ paused: true, stateHash: '' })
    await ferryOk(['--home', b.home, 'folder', 'resume', 'docs'])
    expect((await config(b)).folders.docs!.paused).toBeUndefined()
    await waitFor('b has while-paused.txt', async () => await readFile(join(b.folder, 'while-paused.txt'), 'utf8').catch(() => '') === 'two', 60_000)
    expect((await status(b)).folders.find(f => f.id === 'docs')?.paused).toBeUndefined()

    // device remove: a stops trusting b and hangs up; b's reconnects are refused
    const removed = await json<{ id: string, folders: string[], daemonReloaded: boolean }>(['--home', a.home, 'device', 'remove', 'desktop'])
    expect(removed).toEqual({ id: b.id, name: 'desktop', folders: ['docs'], daemonReloaded: true })
    await waitFor('b disconnected from a', async () => !(await status(b)).peers.some(p => p.id === a.id && p.connected))
    expect((await status(a)).peers.some(p => p.id === b.id)).toBe(false)

    // folder remove with the daemon running: syncing stops, the files stay, the daemon empties
    // the folder's records (added again at another path, they would read as deletes)
    const gone = await json<{ folder: string, databaseCleared: boolean, daemonReloaded: boolean }>(['--home', a.home, 'folder', 'remove', 'docs'])
    expect(gone).toMatchObject({ folder: 'docs', databaseCleared: true, daemonReloaded: true })
    await waitFor('a no longer syncs docs', async () => (await status(a)).folders.length === 0)
    expect(await readFile(join(a.folder, 'first.txt'), 'utf8')).toBe('one')
    await lab.stop(a)
    expect(await recordCount(a.home, 'docs')).toBe(0)

    // folder remove with no daemon: the folder's records leave the database, the files stay
    await lab.stop(b)
    expect(await recordCount(b.home, 'docs')).toBeGreaterThan(0)
    const offline = await json<{ databaseCleared: boolean, daemonReloaded: boolean }>(['--home', b.home, 'folder', 'remove', 'docs'])
    expect(offline).toMatchObject({ databaseCleared: true, daemonReloaded: false })
    expect(await recordCount(b.home, 'docs')).toBe(0)
    expect((await stat(join(b.folder, 'while-paused.txt'))).isFile()).toBe(true)
    expect(await ferryOk(['--home', b.home, 'folder', 'list'])).toMatch(/^no folders/)
  })
})
