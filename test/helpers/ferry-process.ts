import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, mkdir, rm, readdir, lstat, readFile, open, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'
import { FERRY_NODE_FLAGS } from '../../src/cli/node-flags.ts'
import { createHash, randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { callDaemon } from '../../src/control/control-client.ts'
import type { DaemonStatus } from '../../src/daemon/status-types.ts'

export const REPO = resolve(import.meta.dirname, '../..')
const BIN = join(REPO, 'src/cli/ferry.js')

export interface CliResult { code: number, stdout: string, stderr: string }

/**
 * How to run a ferry other than this repo's launcher on this Node (an installed one): the
 * executable, the arguments before ferry's own, extra environment and the working directory.
 */
export interface FerryLauncher { command: string, prefix: string[], env?: Record<string, string>, cwd?: string }

/** Runs the real CLI in a child process (this repo's, unless `launcher` says another). */
export async function ferry (args: string[], env: Record<string, string> = {}, launcher?: FerryLauncher): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const [command, argv] = launcher === undefined ? [process.execPath, [BIN, ...args]] : [launcher.command, [...launcher.prefix, ...args]]
    const child = spawn(command, argv, { env: { ...process.env, ...launcher?.env, ...env }, cwd: launcher?.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', code => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

export async function ferryOk (args: string[], launcher?: FerryLauncher): Promise<string> {
  const r = await ferry(args, {}, launcher)
  if (r.code !== 0) throw new Error(`ferry ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}

/** Writes `mib` MiB of random bytes, 1 MiB at a time (never the whole file in memory). */
export async function writeRandomFile (path: string, mib: number): Promise<void> {
  const fh = await open(path, 'w')
  try { for (let i = 0; i < mib; i++) await fh.write(randomBytes(1024 * 1024)) } finally { await fh.close() }
}

/** the lowest port the kernel hands out by itself (listen on 0, outgoing connections' source ports) */
function ephemeralLow (): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 1024 ? low : 32768
  } catch {
    return 32768
  }
}
const PORT_FLOOR = 20_000
const given = new Set<number>()

/** whether `port` can be listened on at 127.0.0.1 now */
async function bindable (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const srv = createServer()
    srv.once('error', () => { resolve(false) })
    srv.listen(port, '127.0.0.1', () => { srv.close(() => { resolve(true) }) })
  })
}

/**
 * A port for a daemon to listen on later: one below the kernel's ephemeral range, so that no
 * outgoing connection or `listen(0)` of another test's process takes it in between (a port the
 * kernel handed out, closed and handed out again was seen taken by the time the daemon started).
 */
export async function freePort (): Promise<number> {
  const high = Math.min(ephemeralLow(), 65_536) - 1
  for (let attempt = 0; attempt < 200 && high > PORT_FLOOR; attempt++) {
    const port = PORT_FLOOR + Math.floor(Math.random() * (high - PORT_FLOOR))
    if (given.has(port)) continue
    if (await bindable(port)) {
      given.add(port)
      return port
    }
  }
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port')))
    })
  })
}

export interface Device {
  name: string
  home: string
  folder: string
  id: string
  port: number
  addr: string
  process?: ChildProcess
  log: string
}

/** A temp area; everything made in it is removed by `cleanup()`, every daemon killed. */
export class Lab {
  private root = ''
  private readonly devices: Device[] = []

  private readonly launcher: FerryLauncher | undefined

  /** `launcher`: the ferry every command and daemon of this lab runs (default: this repo's) */
  constructor (launcher?: FerryLauncher) { this.launcher = launcher }

  async setup (): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), 'ferry-test-'))
  }

  /** the lab's temp area (everything in it is removed by cleanup) */
  get dir (): string { return this.root }

  /** `prepareFolder` runs on the folder's path (not made yet) before it is added (to mount something there). */
  async device (name: string, folderId = 'docs', opts: { prepareFolder?: (path: string) => Promise<void> } = {}): Promise<Device> {
    const home = join(this.root, name, 'home')
    const folder = join(this.root, name, 'folder')
    const id = (await ferryOk(['--home', home, 'init'], this.launcher)).trim().split('\n').at(-1)!
    await opts.prepareFolder?.(folder)
    await ferryOk(['--home', home, 'folder', 'add', folder, '--id', folderId], this.launcher)
    const port = await freePort()
    const d: Device = { name, home, folder, id, port, addr: `/ip4/127.0.0.1/tcp/${port}`, log: '' }
    this.devices.push(d)
    return d
  }

  /** a and b trust each other (with static addresses) and share `folderId`. */
  async pair (a: Device, b: Device, folderId = 'docs'): Promise<void> {
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--addr', b.addr, '--name', b.name], this.launcher)
    await ferryOk(['--home', b.home, 'device', 'add', a.id, '--addr', a.addr, '--name', a.name], this.launcher)
    await ferryOk(['--home', a.home, 'share', folderId, b.id], this.launcher)
    await ferryOk(['--home', b.home, 'share', folderId, a.id], this.launcher)
  }

  /**
   * Starts `ferry start` and resolves once the daemon says it runs. By default it listens on
   * the device's loopback address without mDNS; `netns` runs it inside a network namespace;
   * `uid` runs it as that user and group (needs root and `setpriv`; its home and folder must be its own).
   */
  async start (d: Device, opts: { netns?: string, mdns?: boolean, listen?: string, args?: string[], uid?: number } = {}): Promise<void> {
    const [node, ...launch] = this.launcher === undefined ? [process.execPath, ...FERRY_NODE_FLAGS, BIN] : [this.launcher.command, ...this.launcher.prefix]
    const args = [...launch, '--home', d.home, 'start', '--listen', opts.listen ?? d.addr, ...(opts.mdns === true ? [] : ['--no-mdns']), ...(opts.args ?? [])]
    const [cmd, argv] = opts.netns !== undefined
      ? ['ip', ['netns', 'exec', opts.netns, node!, ...args]]
      : opts.uid !== undefined
        ? ['setpriv', [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', node!, ...args]]
        : [node!, args]
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.launcher?.env }, cwd: this.launcher?.cwd })
    d.process = child
    this.keepLog(d)
    d.log = labLine('start')
    await new Promise<void>((resolve, reject) => {
      const onData = (buf: Buffer): void => {
        d.log += buf.toString()
        if (d.log.includes('ferry running')) resolve()
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', (buf: Buffer) => { d.log += buf.toString() })
      child.once('exit', code => reject(new Error(`${d.name} exited ${code ?? 'by signal'} before starting:\n${d.log}`)))
    })
  }

  async stop (d: Device, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = d.process
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null
    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
    d.log += labLine(`stop ${signal}`)
    child.kill(signal)
    const code = await exited
    d.log += labLine(`exited ${code ?? 'by signal'}`)
    d.process = undefined
    return code
  }

  async cleanup (): Promise<void> {
    for (const d of this.devices) {
      if (d.process !== undefined && d.process.exitCode === null && d.process.signalCode === null) {
        const killer = setTimeout(() => d.process?.kill('SIGKILL'), 5_000)
        await this.stop(d).catch(() => {})
        clearTimeout(killer)
      }
    }
    for (const d of this.devices) this.keepLog(d)
    if (process.env.FERRY_TEST_LOGS !== undefined && this.kept.length > 0) {
      await mkdir(process.env.FERRY_TEST_LOGS, { recursive: true })
      await writeFile(join(process.env.FERRY_TEST_LOGS, `${basename(this.root)}.log`), this.kept.join('\n'))
    }
    if (this.root !== '') await rm(this.root, { recursive: true, force: true })
  }

  /** With FERRY_TEST_LOGS=dir, every daemon run's output is written there at cleanup, one file per lab. */
  private readonly kept: string[] = []
  private keepLog (d: Device): void {
    if (d.log !== '') this.kept.push(`=== ${d.name}\n${d.log}`)
    d.log = ''
  }
}

/** a timestamped line of the lab's own, put in a device's log (read when a test stalls) */
function labLine (what: string): string {
  return `[lab ${new Date().toISOString()}] ${what}\n`
}

/** The temp files in a folder's internal temp area (its shard directories looked into), as absolute paths. */
export async function tempFiles (folder: string): Promise<string[]> {
  const root = join(folder, '.ferry', 'tmp')
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter(e => !e.isDirectory()).map(e => join(e.parentPath, e.name))
}

export async function status (d: Device): Promise<DaemonStatus> {
  return await callDaemon<DaemonStatus>(d.home, 'GET', '/status')
}

/** path -> 'dir' | 'file:<mode x>:<sha256>' for the whole folder, minus the internal area. */
export async function treeOf (root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      if (rel === '' && e.name === '.ferry') continue
      const p = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) { out.set(p, 'dir'); await walk(p) } else {
        const st = await lstat(join(root, p))
        const hash = createHash('sha256').update(await readFile(join(root, p))).digest('hex')
        out.set(p, `file:${(st.mode & 0o111) !== 0 ? 'x' : '-'}:${hash}`)
      }
    }
  }
  await walk('')
  return out
}

export function sameTree (a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (b.get(k) !== v) return false
  return true
}

/**
 * Waits until every device reports its folder in sync, with equal state hashes, other than
 * `notHash` (the state before a change). Cheap: nothing is read from disk.
 */
export async function waitInSync (devices: Device[], notHash?: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const folders = (await Promise.all(devices.map(status))).map(s => s.folders[0]!)
    const h = folders[0]!.stateHash
    if (folders.every(f => f.inSync && f.stateHash === h) && h !== notHash) return h
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`not in sync after ${timeoutMs} ms`)
}

/**
 * Waits until every device reports its folder in sync and all trees are identical.
 * Returns the common tree.
 */
export async function waitConverged (devices: Device[], timeoutMs = 60_000): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (const d of devices) d.log += labLine('waiting for convergence')
  while (Date.now() < deadline) {
    try {
      const statuses = await Promise.all(devices.map(status))
      if (statuses.every(s => s.folders.every(f => f.inSync))) {
        const trees = await Promise.all(devices.map(d => treeOf(d.folder)))
        if (trees.every(t => sameTree(t, trees[0]!))) {
          for (const d of devices) d.log += labLine('converged')
          return trees[0]!
        }
        last = 'trees differ'
      } else {
        last = JSON.stringify(statuses.map(s => s.folders))
      }
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const logs = devices.map(d => `--- ${d.name}\n${d.log.slice(-3000)}`).join('\n')
  throw new Error(`not converged after ${timeoutMs} ms: ${last}\n${logs}`)
}

export async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}
