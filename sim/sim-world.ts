import { existsSync } from 'node:fs'
import { lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { Daemon } from '../src/daemon/daemon.ts'
import { callDaemon } from '../src/control/control-client.ts'
import { deviceIdOf } from '../src/identity/device-key.ts'
import { loadConfig, saveConfig } from '../src/config/config.ts'
import { deviceAddCommand, initCommand, shareCommand } from '../src/commands/index.ts'
import { NodeEvents } from '../src/events/node-events.ts'
import { eventLines } from '../src/cli/event-lines.ts'
import { initFolderRoot } from '../src/sync/folder-health.ts'
import { loadOrCreateIdentity, RelayNode } from '../relay/relay-node.ts'
import { SimNetwork } from './sim-network.ts'
import { SWAP_INNER, type SimOp } from './scenario.ts'
import { checkInvariants, readTree, trashContents, type UserWrite } from './invariants.ts'

export const SIM_FOLDER = 'sim'
/** RAM-backed: the real file code runs, on tmpfs (falls back to the OS temp dir where absent) */
export const DEFAULT_SIM_BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
export const DEFAULT_SETTLE_TIMEOUT_MS = 90_000
const POLL_MS = 25

export interface WorldOptions {
  seed: number
  devices: number
  relay?: boolean
  /** directory the run directory is made in (default /dev/shm) */
  base?: string
  settleTimeoutMs?: number
  /** keep the run directory (to look at after a failure) */
  keep?: boolean
}

interface SimNode {
  index: number
  name: string
  home: string
  folder: string
  id: string
  daemon?: Daemon
  /** the running daemon's database, which a crash closes under it */
  db?: ClassicLevel<string, Uint8Array>
  /** the daemon's log lines, all runs */
  lines: string[]
}

export class SettleTimeoutError extends Error {}

let worlds = 0

/**
 * N real daemons (and optionally a relay) in this process, over the in-memory libp2p transport
 * (SimNetwork), each with its home and folder under one run directory on tmpfs. Operations are
 * applied with `apply`; `settle` waits until every device agrees and checks the invariants.
 */
export class SimWorld {
  readonly root: string
  readonly nodes: SimNode[] = []
  readonly net: SimNetwork
  private readonly opts: WorldOptions
  private relay?: { home: string, node: RelayNode, id: string }
  /** devices the scenario took off the network (a crashed one is off it too, while down) */
  private readonly isolated = new Set<number>()
  /** per device and path: the last version its user wrote there (see invariants.ts) */
  private readonly lastWrites = new Map<string, UserWrite>()

  private constructor (opts: WorldOptions, root: string) {
    this.opts = opts
    this.root = root
    this.net = new SimNetwork(`ferry-sim-${process.pid}-${opts.seed}-${++worlds}`)
  }

  static async create (opts: WorldOptions): Promise<SimWorld> {
    const root = join(opts.base ?? DEFAULT_SIM_BASE, `ferry-sim-${process.pid}-${opts.seed}-${worlds + 1}`)
    await rm(root, { recursive: true, force: true })
    await mkdir(root, { recursive: true })
    const world = new SimWorld(opts, root)
    try {
      await world.setUp()
    } catch (err) {
      await world.close()
      throw err
    }
    return world
  }

  private async setUp (): Promise<void> {
    for (let i = 0; i < this.opts.devices; i++) {
      const name = `d${i}`
      const home = join(this.root, name, 'home')
      const folder = join(this.root, name, 'folder')
      await mkdir(folder, { recursive: true })
      const { deviceId } = await initCommand(home)
      // what `ferry folder add` records, without its check of the path: it refuses anything
      // under /dev, and tmpfs is mounted at /dev/shm
      const fsid = await initFolderRoot(folder, SIM_FOLDER)
      const config = await loadConfig(home)
      // the folder is small: a few deletes would be a "mass delete" held for confirmation
      config.folders[SIM_FOLDER] = { path: folder, members: {}, fsid, deleteProtection: { enabled: false } }
      await saveConfig(home, config)
      this.nodes.push({ index: i, name, home, folder, id: deviceId, lines: [] })
    }
    for (const a of this.nodes) {
      for (const b of this.nodes) {
        if (a === b) continue
        await deviceAddCommand(a.home, b.id, { addrs: [this.net.addressOf(b.name)], name: b.name })
        await shareCommand(a.home, SIM_FOLDER, b.id, { readOnly: false })
      }
    }
    if (this.opts.relay === true) {
      const home = join(this.root, 'relay')
      const id = deviceIdOf(await loadOrCreateIdentity(home))
      for (const d of this.nodes) {
        await deviceAddCommand(d.home, id, { addrs: [this.net.addressOf('relay')], name: 'relay' })
        await shareCommand(d.home, SIM_FOLDER, id, { readOnly: false, replica: true })
        await deviceAddCommand(home, d.id, { addrs: [], name: d.name })
      }
      const node = await RelayNode.open({ home, listen: [this.net.addressOf('relay')], transports: this.net.transportsFor('relay') })
      await node.start()
      this.relay = { home, node, id }
    }
    for (const d of this.nodes) await this.startDaemon(d)
  }

  private async startDaemon (d: SimNode): Promise<void> {
    // the daemon's lines as `ferry start` prints them, kept for a failure report
    const events = new NodeEvents()
    events.subscribe(e => { d.lines.push(...eventLines(e)) })
    const db = new ClassicLevel<string, Uint8Array>(join(d.home, 'db'), { valueEncoding: 'view' })
    const daemon = await Daemon.open({
      home: d.home,
      listen: [this.net.addressOf(d.name)],
      mdns: false,
      events,
      transports: this.net.transportsFor(d.name),
      db
    })
    await daemon.start()
    d.daemon = daemon
    d.db = db
  }

  private node (i: number): SimNode {
    const d = this.nodes[i]
    if (d === undefined) throw new RangeError(`no device ${i}`)
    return d
  }

  /** Applies one operation; returns what happened (a user operation may find nothing to do). */
  async apply (op: SimOp): Promise<string> {
    switch (op.kind) {
      case 'write': return await this.userWrite(op.device, op.path, op.content)
      case 'delete': return await this.userDelete(op.device, op.path)
      case 'rename': return await this.userRename(op.device, op.from, op.to)
      case 'swap': return await this.userSwap(op.device, op.path, op.content)
      case 'isolate':
        this.isolated.add(op.device)
        this.net.isolate(this.node(op.device).name)
        return 'isolated'
      case 'heal':
        this.isolated.delete(op.device)
        if (this.node(op.device).daemon !== undefined) this.net.heal(this.node(op.device).name)
        return 'healed'
      case 'crash': return await this.crash(op.device)
      case 'restart': return await this.restart(op.device)
      case 'settle': {
        const problems = await this.settle()
        if (problems.length > 0) throw new InvariantError(problems)
        return 'settled, invariants hold'
      }
    }
  }

  // --- the user, on the device's disk ------------------------------------------------------------

  private async kindOf (i: number, path: string): Promise<'file' | 'dir' | undefined> {
    const st = await lstat(join(this.node(i).folder, path)).catch(() => undefined)
    return st === undefined ? undefined : st.isDirectory() ? 'dir' : 'file'
  }

  /** false when a parent is a file (the user's `mkdir -p` would fail) */
  private async makeParents (i: number, path: string): Promise<boolean> {
    const parts = path.split('/').slice(0, -1)
    for (let k = 1; k <= parts.length; k++) {
      const p = parts.slice(0, k).join('/')
      const kind = await this.kindOf(i, p)
      if (kind === 'file') return false
      if (kind !== undefined) continue
      // the daemon may make the same directory meanwhile (a peer's file below it): `mkdir -p`
      try { await mkdir(join(this.node(i).folder, p)) } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        if (await this.kindOf(i, p) === 'file') return false
      }
    }
    return true
  }

  private forget (i: number, path: string): void {
    for (const [key, w] of this.lastWrites) {
      if (w.device === i && (w.path === path || w.path.startsWith(`${path}/`))) this.lastWrites.delete(key)
    }
  }

  private wrote (i: number, path: string, content: string): void {
    this.forget(i, path)
    this.lastWrites.set(`${i}\0${path}`, { device: i, path, content })
  }

  private async userWrite (i: number, path: string, content: string): Promise<string> {
    if (await this.kindOf(i, path) === 'dir' || !await this.makeParents(i, path)) return 'skipped (a directory is there, or a file above)'
    await writeFile(join(this.node(i).folder, path), content)
    this.wrote(i, path, content)
    return 'written'
  }

  private async userDelete (i: number, path: string): Promise<string> {
    const kind = await this.kindOf(i, path)
    if (kind === undefined) return 'skipped (absent)'
    await rm(join(this.node(i).folder, path), { recursive: true, force: true })
    this.forget(i, path)
    return `deleted (${kind})`
  }

  private async userRename (i: number, from: string, to: string): Promise<string> {
    if (await this.kindOf(i, from) !== 'file') return 'skipped (no file)'
    if (await this.kindOf(i, to) === 'dir' || to.startsWith(`${from}/`) || !await this.makeParents(i, to)) return 'skipped (target is a directory, or a file above)'
    const content = this.lastWrites.get(`${i}\0${from}`)?.content
    await rename(join(this.node(i).folder, from), join(this.node(i).folder, to))
    this.forget(i, from)
    if (content !== undefined) this.wrote(i, to, content)
    else this.forget(i, to)
    return 'renamed'
  }

  private async userSwap (i: number, path: string, content: string): Promise<string> {
    const kind = await this.kindOf(i, path)
    const abs = join(this.node(i).folder, path)
    if (kind === 'file') {
      await rm(abs)
      await mkdir(abs)
      await writeFile(join(abs, SWAP_INNER), content)
      this.forget(i, path)
      this.wrote(i, `${path}/${SWAP_INNER}`, content)
      return 'file -> dir'
    }
    if (!await this.makeParents(i, path)) return 'skipped (a file above)'
    if (kind === 'dir') await rm(abs, { recursive: true, force: true })
    await writeFile(abs, content)
    this.wrote(i, path, content)
    return kind === 'dir' ? 'dir -> file' : 'created'
  }

  // --- crashes -----------------------------------------------------------------------------------

  /**
   * The daemon dies at this instant: off the network (its connections abort, no dial succeeds),
   * and its database closed under it, so nothing it has not committed yet is ever committed
   * (what a killed process leaves). Its loops, timers and node are then wound down (stop()):
   * with no network and no database they can only fail, and once stop() returns no work of the
   * old daemon is left to touch the folder when the new one starts.
   */
  private async crash (i: number): Promise<string> {
    const d = this.node(i)
    const daemon = d.daemon
    if (daemon === undefined) return 'skipped (down)'
    d.daemon = undefined
    this.net.isolate(d.name)
    const closed = d.db?.close().catch(() => {})
    await daemon.stop().catch(() => {})
    await closed
    d.lines.push('--- sim: crashed ---')
    return 'crashed'
  }

  private async restart (i: number): Promise<string> {
    const d = this.node(i)
    if (d.daemon !== undefined) return 'skipped (running)'
    if (!this.isolated.has(i)) this.net.heal(d.name)
    await this.startDaemon(d)
    return 'restarted'
  }

  // --- quiescence and invariants -----------------------------------------------------------------

  /**
   * Heals every partition, restarts every crashed device, asks each for a full scan and waits
   * until all have scanned since, are connected to each other, have nothing left to do and hold
   * the same state. Returns the invariants' violations (empty: all hold).
   */
  async settle (): Promise<string[]> {
    for (const d of this.nodes) {
      this.isolated.delete(d.index)
      if (d.daemon === undefined) await this.restart(d.index)
      this.net.heal(d.name)
    }
    const since = Date.now()
    for (const d of this.nodes) await callDaemon(d.home, 'POST', '/rescan', 10_000, { folder: SIM_FOLDER })
    const timeoutMs = this.opts.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS
    const deadline = Date.now() + timeoutMs
    while (!this.converged(since)) {
      if (Date.now() > deadline) throw new SettleTimeoutError(`no quiescence within ${timeoutMs} ms:\n  ${this.describe().join('\n  ')}`)
      await new Promise(resolve => setTimeout(resolve, POLL_MS))
    }
    return checkInvariants({
      trees: await Promise.all(this.nodes.map(async d => await readTree(d.folder))),
      trash: await Promise.all(this.nodes.map(async d => await trashContents(d.folder))),
      writes: [...this.lastWrites.values()],
      strayPaths: await this.strayPaths()
    })
  }

  private converged (since: number): boolean {
    const hashes = new Set<string>()
    for (const d of this.nodes) {
      if (d.daemon === undefined) return false
      const st = d.daemon.status()
      const f = st.folders.find(x => x.id === SIM_FOLDER)
      if (f === undefined || !f.inSync || (f.lastFullScanAt ?? 0) < since) return false
      const others = new Set(this.nodes.filter(o => o !== d).map(o => o.id))
      if (st.peers.some(p => others.has(p.id) && !p.connected)) return false
      hashes.add(f.stateHash)
    }
    return hashes.size === 1
  }

  /** one line per device: what it is waiting for */
  describe (): string[] {
    return this.nodes.map(d => {
      if (d.daemon === undefined) return `${d.name}: down`
      const st = d.daemon.status()
      const f = st.folders.find(x => x.id === SIM_FOLDER)
      const down = st.peers.filter(p => !p.connected).map(p => p.name ?? p.id)
      return `${d.name}: inSync=${String(f?.inSync)} need=${f?.needFiles ?? '?'} scanning=${String(f?.scanning)} hash=${f?.stateHash.slice(0, 12) ?? '?'} errors=${JSON.stringify(f?.errors.map(e => `${e.path}: ${e.code}`) ?? [])} disconnected=[${down.join(',')}]`
    })
  }

  /** entries of the run directory besides d<i>/home, d<i>/folder and relay/ */
  private async strayPaths (): Promise<string[]> {
    const expected = new Set([...this.nodes.map(d => d.name), 'relay'])
    const out: string[] = []
    for (const name of await readdir(this.root)) {
      if (!expected.has(name)) { out.push(name); continue }
      if (name === 'relay') continue
      for (const inner of await readdir(join(this.root, name))) if (inner !== 'home' && inner !== 'folder') out.push(`${name}/${inner}`)
    }
    return out
  }

  async trees (): Promise<Array<Map<string, string>>> {
    return await Promise.all(this.nodes.map(async d => await readTree(d.folder)))
  }

  /** Stops everything and removes the run directory (unless `keep`). */
  async close (): Promise<void> {
    for (const d of this.nodes) {
      await d.daemon?.stop().catch(() => {})
      d.daemon = undefined
    }
    await this.relay?.node.stop().catch(() => {})
    if (this.opts.keep !== true) await rm(this.root, { recursive: true, force: true })
  }
}

export class InvariantError extends Error {
  readonly problems: string[]
  constructor (problems: string[]) {
    super(`invariants violated:\n  ${problems.join('\n  ')}`)
    this.problems = problems
  }
}
