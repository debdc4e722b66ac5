import { describe, it, expect, afterEach } from 'vitest'
import { spawn } from 'node:child_process'
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Lab, ferry, ferryOk, sameTree, status, treeOf, waitFor, writeRandomFile, type Device } from '../helpers/ferry-process.ts'
import type { Config } from '../../src/config/config.ts'
import { EventTail } from '../helpers/event-tail.ts'

const BIN = resolve(import.meta.dirname, '../../src/cli/ferry.js')
const config = async (d: Device): Promise<Config> => JSON.parse(await readFile(join(d.home, 'config.json'), 'utf8')) as Config

async function waitSameTree (from: string, to: string): Promise<void> {
  await waitFor(`${to} to equal ${from}`, async () => sameTree(await treeOf(from), await treeOf(to)), 120_000)
}

/** every row of each table lines up with its header: left-aligned cells start, right-aligned ones end, where the header's do */
function expectAligned (text: string): void {
  const lines = text.split('\n')
  let checked = 0
  for (let i = 0; i < lines.length; i++) {
    if (!/^ {2}[A-Z]+( {2,}[A-Z][A-Z ]*)+$/.test(lines[i]!)) continue
    const headers = [...lines[i]!.matchAll(/[A-Z]+(?: [A-Z]+)*/g)].map(m => ({ start: m.index, end: m.index + m[0].length }))
    for (let j = i + 1; j < lines.length && lines[j]!.startsWith('  ') && !lines[j]!.startsWith('   '); j++) {
      const row = lines[j]!.padEnd(lines[i]!.length)
      for (const h of headers) {
        const left = row[h.start - 1] === ' ' && row[h.start] !== ' '
        const right = row[h.end - 1] !== ' ' && (row[h.end] ?? ' ') === ' '
        expect(left || right, `${lines[i]}\n${lines[j]}`).toBe(true)
      }
      checked++
    }
  }
  expect(checked).toBeGreaterThan(0)
}

describe('ferry status as a person reads it', () => {
  let lab: Lab
  const tails: EventTail[] = []
  afterEach(async () => {
    for (const t of tails.splice(0)) await t.stop()
    await lab.cleanup()
  })

  it('tables of peers, folders and transfers; uploads show on the sender; --watch redraws until Ctrl-C', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('alice-laptop')
    const b = await lab.device('bob-desk')
    await lab.pair(a, b)
    await writeFile(join(a.folder, 'small.txt'), 'hello')
    await Promise.all([lab.start(a), lab.start(b)])
    await waitSameTree(a.folder, b.folder)
    await waitFor('b is complete as a sees it', async () => (await status(a)).peers[0]?.completion === 100, 60_000)

    const s = await status(a)
    expect(s.peers[0]).toMatchObject({ id: b.id, name: 'bob-desk', connected: true, path: 'lan', completion: 100 })
    expect(Math.abs(s.peers[0]!.lastSeen! - Date.now())).toBeLessThan(60_000)
    expect(s.uploads).toBeDefined()

    // the upload of small.txt is over once idle for 10 s
    await waitFor('no upload listed', async () => (await status(a)).uploads?.length === 0, 60_000)
    const text = await ferryOk(['--home', a.home, 'status'])
    expectAligned(text)
    const normal = text
      .replaceAll(a.id, '<A>').replaceAll(b.id, '<B>').replaceAll(`…${b.id.slice(-7)}`, '<b7>')
      .replaceAll(a.folder, '<FOLDER>').replace(/\/ip4\/\S+/g, '<ADDR>')
      .replace(/ {2,}/g, '  ').replace(/ +$/gm, '').trimEnd()
    expect(normal).toBe([
      'device <A>',
      '  listening <ADDR>',
      '',
      'peers (1/1 connected)',
      '  DEVICE  ID  STATE  PATH  LAST SEEN  COMPLETION',
      '  bob-desk  <b7>  connected  lan (tcp)  now  100%',
      '',
      'folders',
      '  FOLDER  PATH  STATE  NEED  LOCAL  IN  OUT  ETA',
      '  docs  <FOLDER>  idle  -  1 file, 5 B  0 B/s  0 B/s  -',
      '',
      'transfers',
      '  none'
    ].join('\n'))

    // a large file: while and shortly after b fetches it, a lists the upload to b
    await writeRandomFile(join(a.folder, 'big.bin'), 48)
    let upload: NonNullable<Awaited<ReturnType<typeof status>>['uploads']>[number] | undefined
    await waitFor('a lists an upload of big.bin to b', async () => {
      upload = (await status(a)).uploads?.find(u => u.path === 'big.bin')
      return upload !== undefined
    }, 120_000)
    expect(upload).toMatchObject({ peer: b.id, folder: 'docs', path: 'big.bin' })
    expect(upload!.bytes).toBeGreaterThan(0)
    const during = await ferryOk(['--home', a.home, 'status'])
    if ((await status(a)).uploads?.some(u => u.path === 'big.bin') === true) expect(during).toMatch(/ {2}up {2,}bob-desk {2,}docs {2,}big\.bin /)
    await waitSameTree(a.folder, b.folder)

    // --watch: frames until SIGINT, then exit 0
    const child = spawn(process.execPath, [BIN, '--home', a.home, 'status', '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
    await waitFor('two frames', () => out.split('\n').filter(l => l.startsWith('device ')).length >= 2, 30_000)
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(out).not.toContain('\u001b[')
  })

  it('a conflict copy carries the name this device gives the losing version\'s author', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const bob = await lab.device('bob-laptop')
    const c = await lab.device('c')
    await lab.pair(a, bob)
    await lab.pair(a, c)
    // bob's version reaches a (a adopts it); then bob goes away
    await writeFile(join(bob.folder, 'notes.txt'), 'bob wrote this')
    await Promise.all([lab.start(a), lab.start(bob)])
    await waitSameTree(bob.folder, a.folder)
    await lab.stop(bob)
    // c made its own notes.txt meanwhile, newer: it wins, and a keeps bob's version beside it
    await writeFile(join(c.folder, 'notes.txt'), 'c wrote this')
    const newer = new Date(Date.now() + 60_000)
    await utimes(join(c.folder, 'notes.txt'), newer, newer)
    await lab.start(c)
    let copy: string | undefined
    await waitFor('a keeps a conflict copy', async () => {
      copy = (await readdir(a.folder)).find(n => n.startsWith('notes.sync-conflict-'))
      return copy !== undefined
    }, 60_000)
    expect(copy).toMatch(/^notes\.sync-conflict-\d{8}-\d{6}-bob-laptop\.txt$/)
    expect(await readFile(join(a.folder, copy!), 'utf8')).toBe('bob wrote this')
    const listed = JSON.parse(await ferryOk(['--home', a.home, 'conflicts', '--json'])) as Array<{ device: string }>
    expect(listed).toEqual([expect.objectContaining({ device: bob.id, original: 'notes.txt' })])
    expect(await ferryOk(['--home', a.home, 'conflicts'])).toContain('version of bob-laptop from')
    expect(await ferryOk(['--home', a.home, 'revisions', 'docs', 'notes.txt'])).toMatch(/ {2}bob-laptop {2}/)
  })

  it('unshare: the removed member learns it; the inviter names a device that joined', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b', 'b-own')
    await writeFile(join(a.folder, 'x.txt'), 'x')
    await lab.start(a)
    const code = (await ferryOk(['--home', a.home, 'invite', 'docs'])).split('\n')[0]!
    const bDocs = join(dirname(b.folder), 'shared')
    await ferryOk(['--home', b.home, 'join', code, bDocs, '--name', 'alice'])
    // join: the inviter names the new device
    expect((await config(a)).devices[b.id]?.name).toBe(`device-${b.id.slice(-7)}`)
    await lab.start(b)
    await waitSameTree(a.folder, bDocs)
    const tail = await new EventTail(b.home).ready()
    tails.push(tail)

    const r = await ferryOk(['--home', a.home, 'unshare', 'docs', b.id])
    expect(r).toContain(`folder docs no longer shared with ${b.id} (device-${b.id.slice(-7)})`)
    expect(r).toContain(`the device is still trusted: \`ferry device remove device-${b.id.slice(-7)}\``)
    await waitFor('b knows it was removed', async () => (await status(b)).folders.find(f => f.id === 'docs')?.removed?.by === a.id, 60_000)
    // and is not left "syncing" while waiting on a: in sync with what it has
    await waitFor('b in sync without a', async () => (await status(b)).folders.find(f => f.id === 'docs')?.inSync === true, 60_000)
    const docs = (await status(b)).folders.find(f => f.id === 'docs')!
    expect(docs.removed?.by).toBe(a.id)
    expect(Math.abs(docs.removed!.since - Date.now())).toBeLessThan(120_000)
    const text = await ferryOk(['--home', b.home, 'status'])
    expect(text).toContain(`docs ${bDocs}: removed from this folder by alice`)
    expect(text).toMatch(/ {2}docs {2,}\S+ {2,}removed /)
    const unshared = await tail.next('folder.unshared on b', e => e.type === 'folder.unshared')
    expect(unshared).toMatchObject({ folder: 'docs', device: a.id, name: 'alice' })

    // --untrust: unshare and stop trusting in one go
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    const u = await ferryOk(['--home', a.home, 'unshare', 'docs', b.id, '--untrust'])
    expect(u).toContain('the device is no longer trusted')
    expect((await config(a)).devices[b.id]).toBeUndefined()
    expect(await ferry(['--home', a.home, 'device', 'list'])).toMatchObject({ code: 0 })
  })
})
