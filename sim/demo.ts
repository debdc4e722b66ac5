// ferry in one minute: two devices on this machine ("laptop" and "desktop") share a folder over
// loopback (no mDNS). Run with `npm run demo`. Everything lives in a temp dir removed at the end.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { appendFile, lstat, mkdir, mkdtemp, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { callDaemon } from '../src/control/control-client.ts'
import type { DaemonStatus } from '../src/daemon/status-types.ts'
import { FerryError } from '../src/errors.ts'
import { FERRY_NODE_FLAGS } from '../src/cli/node-flags.ts'

const BIN = resolve(import.meta.dirname, '../src/cli/ferry.js')
const FOLDER_ID = 'shared'
const MiB = 1024 * 1024
const TIMEOUT_MS = Number(process.env.FERRY_DEMO_TIMEOUT_S ?? 120) * 1000
const paint = (code: number) => (s: string): string => process.stdout.isTTY === true ? `\x1b[${code}m${s}\x1b[0m` : s
const [dim, bold, green] = [paint(2), paint(1), paint(32)]

/** What the laptop starts with: text files, and random bytes (a number) standing in for photos and a video. */
const SAMPLES: Record<string, string | number> = {
  'README.txt': 'This folder is kept in sync by ferry.\n',
  'hello.txt': 'Hello from the laptop!\n',
  'shopping-list.txt': 'milk\neggs\ncoffee\n',
  'docs/notes/ideas.md': '# Ideas\n- sync all the things\n',
  'docs/notes/meeting-2024-06-01.md': '# Meeting\nDecided: ship it.\n',
  'docs/reports/q2.csv': 'month,sales\napr,10\nmay,12\njun,15\n',
  'photos/2024/summer/beach.jpg': 300_000,
  'photos/2024/summer/sunset.jpg': 450_000,
  'photos/2023/winter/snow.jpg': 200_000,
  'photos/2023/winter/cabin.jpg': 250_000,
  'videos/holiday.mp4': 50 * MiB
}

interface Device { name: string, home: string, folder: string, id: string, addr: string, child?: ChildProcess }
interface Entry { type: 'dir' | 'file', size: number, sha256: string }
type Tree = Map<string, Entry>
class DemoError extends Error {}

let stepNo = 0
let demoRoot = '' // shown as $DEMO in echoed commands
const step = (title: string): void => console.log(`\n${bold(`== ${++stepNo}. ${title}`)}`)
const size = (n: number): string => n < 1024 ? `${n} B` : n < MiB ? `${(n / 1024).toFixed(1)} KiB` : `${(n / MiB).toFixed(1)} MiB`
const show = (s: string): string => demoRoot === '' ? s : s.replaceAll(demoRoot, '$DEMO')
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** Runs the real CLI once, showing the command and its output; returns its stdout. */
async function ferry (...args: string[]): Promise<string> {
  console.log(`  $ ferry ${show(args.join(' '))}`)
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [...FERRY_NODE_FLAGS, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let [stdout, stderr] = ['', '']
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', code => code === 0 ? resolve(stdout) : reject(new DemoError(`ferry ${args.join(' ')} failed: ${stderr.trim()}`)))
  })
  console.log(show(out.trimEnd()).replace(/^/gm, '    '))
  return out
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no free port')))
    })
  })
}

async function makeDevice (root: string, name: string): Promise<Device> {
  const [home, folder] = [join(root, name, 'home'), join(root, name, 'Shared')]
  const id = (await ferry('--home', home, 'init')).trim().split('\n').at(-1)!
  await ferry('--home', home, 'folder', 'add', folder, '--id', FOLDER_ID)
  return { name, home, folder, id, addr: `/ip4/127.0.0.1/tcp/${await freePort()}` }
}

async function pair (a: Device, b: Device): Promise<void> {
  for (const [me, other] of [[a, b], [b, a]] as const) {
    await ferry('--home', me.home, 'device', 'add', other.id, '--addr', other.addr, '--name', other.name)
    await ferry('--home', me.home, 'share', FOLDER_ID, other.id)
  }
}

/** `ferry start` (or `args`) in the background; its log lines are echoed, indented and dimmed. */
async function startDaemon (d: Device, args = ['--home', d.home, 'start', '--listen', d.addr, '--no-mdns'], ready = 'ferry running'): Promise<void> {
  const child = spawn(process.execPath, [...FERRY_NODE_FLAGS, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  d.child = child
  console.log(`  $ ferry ${show(args.join(' '))} &   ${dim(`(pid ${child.pid})`)}`)
  await new Promise<void>((resolve, reject) => {
    const echo = (line: string): void => {
      console.log(dim(`    ${d.name.padStart(7)} | ${show(line)}`))
      if (line.includes(ready)) resolve()
    }
    createInterface({ input: child.stdout }).on('line', echo)
    createInterface({ input: child.stderr }).on('line', echo)
    child.once('exit', code => reject(new DemoError(`${d.name}'s daemon exited (${code ?? 'by signal'}) before it was running`)))
  })
}

async function stopDaemon (d: Device): Promise<void> {
  const child = d.child
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(killer)
  console.log(`  ${d.name} daemon (pid ${child.pid}) exited with ${child.exitCode ?? child.signalCode}`)
}

const status = async (d: Device): Promise<DaemonStatus> => await callDaemon<DaemonStatus>(d.home, 'GET', '/status')
const receivedOf = (s: DaemonStatus): number => Object.values(s.receivedBytes).reduce((x, y) => x + y, 0)
const received = async (d: Device): Promise<number> => receivedOf(await status(d))

/** Writes `bytes` random bytes 1 MiB at a time (never one big buffer). */
async function writeRandom (path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w')
  try {
    for (let left = bytes; left > 0; left -= MiB) await fh.write(randomBytes(Math.min(MiB, left)))
  } finally { await fh.close() }
}

async function writeSamples (root: string): Promise<void> {
  for (const [path, content] of Object.entries(SAMPLES)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    if (typeof content === 'number') await writeRandom(join(root, path), content)
    else await writeFile(join(root, path), content)
  }
  await mkdir(join(root, 'inbox')) // stays empty
}

async function fileEntry (root: string, path: string): Promise<Entry> {
  return { type: 'file', size: (await lstat(join(root, path))).size, sha256: createHash('sha256').update(await readFile(join(root, path))).digest('hex') }
}

/** path -> type, size, sha256 of content, for the whole folder minus ferry's `.ferry` area. */
async function treeOf (root: string): Promise<Tree> {
  const tree: Tree = new Map()
  const walk = async (rel: string): Promise<void> => {
    for (const e of (await readdir(join(root, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (rel === '' && e.name === '.ferry') continue
      const path = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) {
        tree.set(path, { type: 'dir', size: 0, sha256: '' })
        await walk(path)
      } else tree.set(path, await fileEntry(root, path))
    }
  }
  await walk('')
  return tree
}

const digestOf = (tree: Tree): string => createHash('sha256').update(JSON.stringify([...tree].sort(([a], [b]) => a < b ? -1 : 1))).digest('hex')

function printTree (label: string, tree: Tree): void {
  console.log(`  ${label}/`)
  const paths = [...tree.keys()]
  paths.forEach((path, i) => {
    const parts = path.split('/')
    // does the ancestor at level k (k = 1..depth) have a sibling further down the listing?
    const hasNext = (k: number): boolean => paths.slice(i + 1).some(p => p.split('/').length === k && (k === 1 || p.startsWith(parts.slice(0, k - 1).join('/') + '/')))
    const rails = parts.slice(1).map((_, k) => hasNext(k + 1) ? '│  ' : '   ').join('')
    const e = tree.get(path)!
    const name = parts.at(-1)! + (e.type === 'dir' ? '/' : '')
    console.log(`  ${rails}${hasNext(parts.length) ? '├─' : '└─'} ${e.type === 'dir' ? name : `${name.padEnd(40 - rails.length)}${size(e.size).padStart(9)}`}`)
  })
  const files = [...tree.values()].filter(e => e.type === 'file')
  console.log(dim(`  ${files.length} files, ${tree.size - files.length} directories, ${size(files.reduce((s, e) => s + e.size, 0))}; tree digest ${digestOf(tree).slice(0, 16)}…`))
}

/** Polls both daemons until both say "in sync" and both trees hash the same. */
async function waitConverged (a: Device, b: Device, what: string): Promise<Tree> {
  const deadline = Date.now() + TIMEOUT_MS
  let [last, shown, shownAt] = ['no status yet', '', 0]
  while (Date.now() < deadline) {
    const dead = [a, b].find(d => d.child !== undefined && (d.child.exitCode !== null || d.child.signalCode !== null))
    if (dead !== undefined) throw new DemoError(`${dead.name}'s daemon exited unexpectedly`)
    try {
      const states = await Promise.all([a, b].map(async d => ({ d, s: await status(d) })))
      const pending = states.flatMap(({ d, s }) => s.folders.filter(f => !f.inSync).map(f =>
        `${d.name} ${f.scanning ? 'is scanning' : `needs ${f.needFiles} items, ${size(f.needBytes)}`} (received ${size(receivedOf(s))} so far)`))
      if (pending.length === 0) {
        const [ta, tb] = await Promise.all([treeOf(a.folder), treeOf(b.folder)])
        if (digestOf(ta) === digestOf(tb)) return tb
        last = 'waiting for the daemons to notice the changes'
      } else last = pending.join('; ')
    } catch (err) { last = (err as Error).message }
    if (last !== shown && Date.now() - shownAt > 1000) { console.log(`  … ${last}`); [shown, shownAt] = [last, Date.now()] }
    await sleep(200)
  }
  throw new DemoError(`${what} did not converge within ${TIMEOUT_MS / 1000} s (last: ${last})`)
}

async function waitConnected (a: Device, b: Device): Promise<void> {
  for (const deadline = Date.now() + TIMEOUT_MS; Date.now() < deadline; await sleep(200)) {
    const all = await Promise.all([status(a), status(b)])
    if (all.every(s => s.peers.every(p => p.connected))) return
  }
  throw new DemoError(`laptop and desktop did not connect within ${TIMEOUT_MS / 1000} s`)
}

function expectSame (what: string, actual: Tree, expected: Tree): void {
  if (digestOf(actual) !== digestOf(expected)) throw new DemoError(`${what}: the synced tree is not what was expected (${[...expected.keys()].filter(p => !actual.has(p)).join(', ') || 'content differs'})`)
}

async function setUp (root: string, devices: Device[]): Promise<[Device, Device]> {
  step('Two devices, one shared folder: init, folder add, device add, share')
  const laptop = await makeDevice(root, 'laptop')
  const desktop = await makeDevice(root, 'desktop')
  devices.push(laptop, desktop)
  await pair(laptop, desktop)
  step('Start both daemons (loopback only, no mDNS)')
  await Promise.all(devices.map(async d => { await startDaemon(d) }))
  await waitConnected(laptop, desktop)
  console.log(green(`  laptop (pid ${laptop.child?.pid}) and desktop (pid ${desktop.child?.pid}) are running and connected`))
  return [laptop, desktop]
}

async function firstSync (laptop: Device, desktop: Device): Promise<Tree> {
  step('Put files into the laptop\'s folder')
  const t0 = Date.now()
  await writeSamples(laptop.folder)
  const written = await treeOf(laptop.folder)
  printTree('laptop/Shared', written)
  step('Wait until the desktop has everything')
  const synced = await waitConverged(laptop, desktop, 'the first sync')
  expectSame('first sync', synced, written)
  const secs = (Date.now() - t0) / 1000
  const total = [...synced.values()].reduce((s, e) => s + e.size, 0)
  console.log(green(`  identical after ${secs.toFixed(1)} s: ${size(total)} at ${(total / MiB / secs).toFixed(1)} MiB/s (desktop received ${size(await received(desktop))} of blocks)`))
  printTree('desktop/Shared', synced)
  return synced
}

/** Edits, deletes and renames on both sides; returns the block bytes the rename cost the desktop. */
async function changeBothSides (laptop: Device, desktop: Device, synced: Tree): Promise<number> {
  step('Change things on both sides')
  const [laptopBefore, desktopBefore] = await Promise.all([received(laptop), received(desktop)])
  const changes: Array<[Device, string, (root: string) => Promise<unknown>]> = [
    [desktop, 'edited  docs/notes/ideas.md', async r => await appendFile(join(r, 'docs/notes/ideas.md'), '- edited on the desktop\n')],
    [laptop, 'deleted shopping-list.txt', async r => await rm(join(r, 'shopping-list.txt'))],
    [laptop, 'renamed videos/holiday.mp4 -> videos/best-of-2024.mp4 (50 MiB)', async r => await rename(join(r, 'videos/holiday.mp4'), join(r, 'videos/best-of-2024.mp4'))],
    [laptop, 'deleted photos/2023/ and everything in it', async r => await rm(join(r, 'photos/2023'), { recursive: true })]
  ]
  for (const [d, what, act] of changes) { await act(d.folder); console.log(`  ${(d.name + ':').padEnd(8)} ${what}`) }
  const expected = new Map([...synced].filter(([p]) => !/^(shopping-list\.txt|videos\/holiday\.mp4|photos\/2023(\/.*)?)$/.test(p)))
  expected.set('videos/best-of-2024.mp4', synced.get('videos/holiday.mp4')!).set('docs/notes/ideas.md', await fileEntry(desktop.folder, 'docs/notes/ideas.md'))
  const after = await waitConverged(laptop, desktop, 'the second round of changes')
  expectSame('second round', after, expected)
  const [laptopDelta, desktopDelta] = [(await received(laptop)) - laptopBefore, (await received(desktop)) - desktopBefore]
  const list = (from: Tree, f: (p: string) => boolean): string => [...from.keys()].filter(f).join(', ')
  console.log(`  gone on both:    ${list(synced, p => !after.has(p))}`)
  console.log(`  new on both:     ${list(after, p => !synced.has(p))}`)
  console.log(`  changed on both: ${list(after, p => synced.has(p) && synced.get(p)!.sha256 !== after.get(p)!.sha256)}`)
  console.log(`  laptop  tree digest ${digestOf(await treeOf(laptop.folder))}\n  desktop tree digest ${digestOf(after)}`)
  const note = desktopDelta === 0 ? green : bold
  console.log(note(`  identical again; the 50 MiB rename made the desktop fetch ${desktopDelta} block bytes (the laptop fetched ${laptopDelta} bytes for the edit)`))
  printTree('desktop/Shared', after)
  return desktopDelta
}

/** Waits until `d` has recorded its changes (state hash other than `notHash`) and its relay holds them all. */
async function waitReplicated (d: Device, notHash?: string): Promise<string> {
  for (const deadline = Date.now() + TIMEOUT_MS; Date.now() < deadline; await sleep(200)) {
    const f = (await status(d)).folders[0]
    if (f?.replicaInSync === true && f.stateHash !== notHash && !f.scanning) return f.stateHash
  }
  throw new DemoError(`${d.name}'s relay did not acknowledge everything within ${TIMEOUT_MS / 1000} s`)
}

/** The desktop is off while the laptop works; then the laptop is off and the desktop catches up from the relay alone. */
async function throughRelay (root: string, laptop: Device, desktop: Device, devices: Device[]): Promise<void> {
  step('A relay: the durable replica and mailbox (ferry relay, the same binary)')
  const relay: Device = { name: 'relay', home: join(root, 'relay', 'home'), folder: '', id: '', addr: `/ip4/127.0.0.1/tcp/${await freePort()}` }
  devices.push(relay)
  await startDaemon(relay, ['--home', relay.home, 'relay', '--listen', relay.addr], 'ferry relay running')
  relay.id = (await ferry('--home', relay.home, 'id')).trim()
  for (const d of [laptop, desktop]) {
    await ferry('--home', relay.home, 'device', 'add', d.id, '--name', d.name)
    await ferry('--home', d.home, 'device', 'add', relay.id, '--addr', relay.addr, '--name', 'relay')
    await ferry('--home', d.home, 'share', FOLDER_ID, relay.id, '--replica')
  }
  const before = await waitReplicated(laptop)
  console.log(green('  the relay holds every block and signed record of the folder'))
  step('The desktop goes away; the laptop changes things; then the laptop goes away too')
  await stopDaemon(desktop)
  await writeFile(join(laptop.folder, 'from-the-road.txt'), 'written while the desktop was off\n')
  await appendFile(join(laptop.folder, 'hello.txt'), 'edited while the desktop was off\n')
  await rm(join(laptop.folder, 'docs/reports'), { recursive: true })
  console.log('  laptop: added from-the-road.txt, edited hello.txt, deleted docs/reports/')
  await sleep(1_000)
  await waitReplicated(laptop, before)
  const expected = await treeOf(laptop.folder)
  await stopDaemon(laptop)
  step('The desktop comes back with only the relay online')
  await startDaemon(desktop)
  const deadline = Date.now() + TIMEOUT_MS
  while (true) {
    const f = (await status(desktop)).folders[0]
    if (f?.inSync === true && digestOf(await treeOf(desktop.folder)) === digestOf(expected)) break
    if (Date.now() > deadline) throw new DemoError('the desktop did not catch up from the relay')
    await sleep(200)
  }
  const s = await status(desktop)
  console.log(green(`  the desktop has the laptop's changes, from the relay alone (laptop connected: ${String(s.peers.find(p => p.id === laptop.id)?.connected ?? false)}; ${size(s.receivedBytes[relay.id] ?? 0)} of blocks from the relay)`))
  await ferry('--home', relay.home, 'status')
}

async function demo (root: string, devices: Device[]): Promise<number> {
  const [laptop, desktop] = await setUp(root, devices)
  const synced = await firstSync(laptop, desktop)
  const renameBytes = await changeBothSides(laptop, desktop, synced)
  step('What `ferry status` says')
  for (const d of devices) await ferry('--home', d.home, 'status')
  await throughRelay(root, laptop, desktop, devices)
  return renameBytes
}

let cleaning: Promise<void> | undefined
async function cleanup (root: string, devices: Device[]): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all(devices.map(async d => { await stopDaemon(d).catch(() => {}) }))
    await rm(root, { recursive: true, force: true })
    console.log(`  removed ${root}`)
  })()
  await cleaning
}

async function main (): Promise<void> {
  const started = Date.now()
  const devices: Device[] = []
  const root = demoRoot = await mkdtemp(join(tmpdir(), 'ferry-demo-'))
  console.log(bold('ferry demo: two devices and a relay on this machine keep one folder identical') + `\n(DEMO=${root})`)
  let interrupted = false
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      interrupted = true
      console.log(`\n${sig}: stopping the demo`)
      void cleanup(root, devices).finally(() => process.exit(130))
    })
  }
  try {
    const renameBytes = await demo(root, devices)
    step('Stop the daemons (SIGTERM) and clean up')
    await cleanup(root, devices)
    console.log(bold(green(`\nDone in ${((Date.now() - started) / 1000).toFixed(0)} s. ferry synced a nested tree, an empty directory and 50 MiB from laptop to desktop,`)))
    console.log(bold(green(`then an edit (desktop -> laptop), a delete, a rename (${renameBytes} bytes moved) and a deleted tree (laptop -> desktop);`)))
    console.log(bold(green('then the desktop caught up with changes made while it was off, from the relay alone.')))
  } catch (err) {
    if (interrupted) return
    process.exitCode = 1
    await cleanup(root, devices)
    console.error(`\ndemo failed: ${err instanceof DemoError || err instanceof FerryError ? err.message : (err as Error).stack ?? String(err)}`)
  }
}

await main()
