import { spawn } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { KEYRING_DIR } from '../../src/keys/keyring-file.ts'
import { callDaemon } from '../../src/control/control-client.ts'
import type { RelayStatus } from '../../relay/relay-status.ts'
import { afterEach, beforeEach } from 'vitest'
import { Lab, REPO, ferryOk, freePort, status, waitFor, type Device } from './ferry-process.ts'
import { FERRY_NODE_FLAGS } from '../../src/cli/node-flags.ts'

const BIN = join(REPO, 'src/cli/ferry.js')

/** A relay process for multi-process tests: its own temp home, a loopback port. */
export interface Relay extends Omit<Device, 'folder'> {}

export interface RelayStartOptions { retentionDays?: number, args?: string[], netns?: string }

export class RelayLab {
  private root = ''
  private readonly relays: Relay[] = []

  async setup (): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), 'ferry-relay-test-'))
  }

  /** A relay home; its identity is made by its first run (as `ferry relay` does), not by init. */
  async relay (name = 'relay', opts: RelayStartOptions & { ip?: string, host?: string } = {}): Promise<Relay> {
    const port = await freePort()
    const r: Relay = { name, home: join(this.root, name), id: '', port, addr: `/ip4/${opts.ip ?? opts.host ?? '127.0.0.1'}/tcp/${port}`, log: '' }
    this.relays.push(r)
    await this.start(r, opts)
    r.id = (await ferryOk(['--home', r.home, 'id'])).trim()
    return r
  }

  /** `netns`: the relay runs inside that network namespace (its address must be one of it) */
  async start (r: Relay, opts: RelayStartOptions = {}): Promise<void> {
    const args = [...FERRY_NODE_FLAGS, BIN, '--home', r.home, 'relay', '--listen', r.addr, ...(opts.retentionDays === undefined ? [] : ['--retention', String(opts.retentionDays)]), ...(opts.args ?? [])]
    const [cmd, argv] = opts.netns === undefined ? [process.execPath, args] : ['ip', ['netns', 'exec', opts.netns, process.execPath, ...args]]
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } })
    r.process = child
    r.log = ''
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (buf: Buffer) => {
        r.log += buf.toString()
        if (r.log.includes('ferry relay running')) resolve()
      })
      child.stderr.on('data', (buf: Buffer) => { r.log += buf.toString() })
      child.once('exit', code => reject(new Error(`${r.name} exited ${code ?? 'by signal'} before starting:\n${r.log}`)))
    })
  }

  async stop (r: Relay, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = r.process
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
    child.kill(signal)
    await exited
    r.process = undefined
  }

  async cleanup (): Promise<void> {
    for (const r of this.relays) {
      const killer = setTimeout(() => r.process?.kill('SIGKILL'), 5_000)
      await this.stop(r).catch(() => {})
      clearTimeout(killer)
    }
    if (this.root !== '') await rm(this.root, { recursive: true, force: true })
  }
}

export async function relayStatus (r: Relay): Promise<RelayStatus> {
  return await callDaemon<RelayStatus>(r.home, 'GET', '/status')
}

/** `device` uses `relay` as the replica of its folder, and the relay trusts it. */
/** per relay and folder: the keyring file of the first device that used it (the others get a copy) */
const folderKeyrings = new WeakMap<Relay, Map<string, string>>()

/**
 * `device` replicates `folderId` to `relay`. The devices of one folder must hold its key to open
 * what the relay keeps (sealed); devices trade keys when they meet (/ferry/keys), but many tests'
 * devices never meet: unless `opts.copyKeyring` is false, the first device's keyring is copied
 * to every later one (as if they had met before).
 */
export async function useRelay (device: Device, relay: Relay, folderId = 'docs', opts: { copyKeyring?: boolean } = {}): Promise<void> {
  const rings = folderKeyrings.get(relay) ?? new Map<string, string>()
  folderKeyrings.set(relay, rings)
  const mine = join(device.home, KEYRING_DIR, `${folderId}.json`)
  const first = rings.get(folderId)
  if (first === undefined) rings.set(folderId, mine)
  else if (first !== mine && opts.copyKeyring !== false) {
    await mkdir(dirname(mine), { recursive: true, mode: 0o700 })
    await copyFile(first, mine)
  }
  await ferryOk(['--home', device.home, 'device', 'add', relay.id, '--addr', relay.addr, '--name', relay.name])
  await ferryOk(['--home', device.home, 'share', folderId, relay.id, '--replica'])
  await ferryOk(['--home', relay.home, 'device', 'add', device.id, '--name', device.name])
}

/**
 * Waits until `d` has scanned its changes (its state hash is not `notHash`), its relay
 * acknowledged all of them, and that holds for 2 s with the same hash (a scan may record a
 * burst of changes in several batches: the first one alone must not count); returns the hash.
 */
export async function waitUploaded (d: Device, notHash?: string): Promise<string> {
  await new Promise(resolve => setTimeout(resolve, 1_500)) // the watcher's debounce and the scan
  let hash = ''
  let since = 0
  await waitFor(`${d.name} uploaded to the relay`, async () => {
    const f = (await status(d)).folders[0]!
    const done = f.replicaInSync === true && f.stateHash !== notHash && !f.scanning && f.inSync
    if (!done || f.stateHash !== hash) {
      hash = f.stateHash
      since = done ? Date.now() : 0
      return false
    }
    return Date.now() - since >= 2_000
  }, 60_000)
  return hash
}

/**
 * Registers a fresh Lab and RelayLab per test (set up before it; every process killed and every
 * temp dir removed after it). Read `env.lab` and `env.relays` inside the test.
 */
export function useRelayLabs (): { lab: Lab, relays: RelayLab } {
  const env = { lab: new Lab(), relays: new RelayLab() }
  beforeEach(async () => {
    env.lab = new Lab()
    env.relays = new RelayLab()
    await env.lab.setup()
    await env.relays.setup()
  })
  afterEach(async () => {
    await env.lab.cleanup()
    await env.relays.cleanup()
  })
  return env
}
