import { parseArgs, type ParseArgsConfig } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { flushCompileCache } from 'node:module'
import { FerryError } from '../errors.ts'
import { resolveHome } from './home.ts'
import { idCommand, initCommand, shareCommand, statusCommand, unshareCommand } from '../commands/index.ts'
import { formatStatus, formatUnshare } from './format.ts'
import { watchStatus } from './status-watch.ts'
import { deviceCli, folderCli } from './manage-cli.ts'
import { positionals, UsageError } from './usage.ts'
import { conflictsCommand, deletedCommand, restoreCommand, revisionsCommand } from '../commands/index.ts'
import { formatConflicts, formatDeleted, formatRestore, formatRevisions } from './format-history.ts'
import { relayVerifyCommand } from '../commands/index.ts'
import { formatRelayStatus, formatVerifyReport } from './format-relay.ts'
import { ProgressView } from './progress-view.ts'
import { printNodeEvents } from './daemon-output.ts'
import { NodeEvents } from '../events/node-events.ts'
import { reexecWithFewMallocArenas } from './malloc-arenas.ts'
import { packageVersion } from './package-root.ts'
import { formatServiceInstall, serviceInstallCommand } from './service-command.ts'
import { formatEvent } from './format-event.ts'
import { printable, printableText } from '../text/printable.ts'
import { followEvents } from '../api/sse-client.ts'
import { parseMetricsListen, type MetricsListen } from '../metrics/metrics-server.ts'
import { loadConfig } from '../config/config.ts'
import { inviteCommand, revertCommand } from '../commands/index.ts'

const USAGE = `usage: ferry <command> [--home DIR]
  init                                   create this device's identity
  id                                     print the device id
  folder add <path> --id <folderId>      sync a directory as a folder
  folder list [--json]                   list folders and their members
  folder remove <folderId>               stop syncing a folder (its files stay on disk)
  folder pause|resume <folderId>         stop / start syncing a folder for now
  folder rescan <folderId>               the running node walks the folder in full now
  folder confirm-deletes <folderId>      record the deletes mass-delete protection holds
  device add <deviceId> [--addr MA]... [--name NAME]   trust a device
  device list [--json]                   trusted devices (and whether connected, if a node runs)
  device remove <device>                 stop trusting a device; it leaves every folder
  device rename <device> <new-name>      name a device
  share <folderId> <device> [--read-only|--replica]    make a device a member (--replica: a relay)
  unshare <folderId> <device> [--untrust]              stop sharing a folder with a device (--untrust: and stop trusting it)
  (<device>: a device name, a device id, or the start of one)
  start [--listen MA]... [--no-mdns] [--api-port N]   run the node until SIGINT/SIGTERM
  status [--json] [--watch]              what the running node is doing (--watch: redraw every second until Ctrl-C)
  events [--json]                        follow the running node's events (one line each)
  invite <folderId> [--read-only] [--expires 24h]      print a one-time pairing code
  join <code> <path> [--name NAME]       join a folder someone invited this device to
  revert <folderId>                      bring back files whose deletes are held; read-only member: discard local changes
  conflicts [--json]                     conflict copies kept in every folder
  revisions <folderId> <path> [--json]   every known version of a file, newest first
  revisions <folderId> --deleted         deleted files that can be restored
  restore <folderId> <path> [--version ID] [--to PATH]   bring a version back (daemon must run)
  relay [--listen MA]... [--retention DAYS] [--metrics-listen [HOST:]PORT]   run a relay node until SIGINT/SIGTERM
  relay verify [--json]                  re-hash every stored block, check every record; non-zero on damage
  service install [--relay] [--unit-dir DIR] [--dry-run]   a systemd unit that runs this ferry (start, or relay)
  --version                              print ferry's version`

const OPTIONS = {
  home: { type: 'string' },
  json: { type: 'boolean', default: false },
  watch: { type: 'boolean', default: false },
  untrust: { type: 'boolean', default: false },
  id: { type: 'string' },
  addr: { type: 'string', multiple: true, default: [] },
  name: { type: 'string' },
  'read-only': { type: 'boolean', default: false },
  replica: { type: 'boolean', default: false },
  retention: { type: 'string' },
  listen: { type: 'string', multiple: true, default: [] },
  'no-mdns': { type: 'boolean', default: false },
  'api-port': { type: 'string' },
  'metrics-listen': { type: 'string' },
  expires: { type: 'string' },
  deleted: { type: 'boolean', default: false },
  version: { type: 'string' },
  to: { type: 'string' },
  relay: { type: 'boolean', default: false },
  'unit-dir': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} satisfies ParseArgsConfig['options']

function out (line: string): void { process.stdout.write(line + '\n') }

async function run (argv: string[]): Promise<number> {
  // `--version` alone, `--home` aside (restore's `--version ID` is an option with a value)
  const bare = argv.filter((a, i) => a !== '--home' && argv[i - 1] !== '--home' && !a.startsWith('--home='))
  if (bare.length === 1 && (bare[0] === '--version' || bare[0] === '-V' || bare[0] === 'version')) { out(packageVersion()); return 0 }
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values: v, positionals: args } = parsed
  const [command, ...rest] = args
  if (v.help || command === undefined || command === 'help') { out(USAGE); return command === undefined && !v.help ? 2 : 0 }
  const home = resolveHome(v.home)
  // text output never carries control characters from names or paths (JSON escapes them itself)
  const print = (data: unknown, text: () => string): void => out(v.json ? JSON.stringify(data, null, 2) : printableText(text()))

  switch (command) {
    case 'init': {
      positionals(rest, 0, 'init')
      const r = await initCommand(home)
      print(r, () => `${r.tightenedFrom === undefined ? '' : `tightened ${r.home} from mode ${r.tightenedFrom} to 0700 (only you may read it)\n`}initialised ${r.home}\n${r.deviceId}`)
      return 0
    }
    case 'id': {
      positionals(rest, 0, 'id')
      const r = await idCommand(home)
      print(r, () => r.deviceId)
      return 0
    }
    case 'folder': case 'device': {
      const [sub, ...more] = rest
      const c = { home, addr: v.addr, print, ...(v.id === undefined ? {} : { id: v.id }), ...(v.name === undefined ? {} : { name: v.name }) }
      return command === 'folder' ? await folderCli(sub, more, c) : await deviceCli(sub, more, c)
    }
    case 'share': {
      const [folder, device] = positionals(rest, 2, 'share <folderId> <device> [--read-only|--replica]')
      const r = await shareCommand(home, folder!, device!, { readOnly: v['read-only'], replica: v.replica })
      print(r, () => `folder ${r.folder} shared with ${r.device} (${r.role})`)
      return 0
    }
    case 'unshare': {
      const [folder, device] = positionals(rest, 2, 'unshare <folderId> <device> [--untrust]')
      const r = await unshareCommand(home, folder!, device!, { untrust: v.untrust })
      print(r, () => formatUnshare(r))
      return 0
    }
    case 'status': {
      positionals(rest, 0, 'status')
      const text = async (): Promise<string> => {
        const r = await statusCommand(home)
        return v.json ? JSON.stringify(r, null, v.watch ? undefined : 2) : printableText('relay' in r ? formatRelayStatus(r) : formatStatus(r))
      }
      if (!v.watch) { out(await text()); return 0 }
      const stop = new AbortController()
      process.once('SIGINT', () => stop.abort())
      process.once('SIGTERM', () => stop.abort())
      await watchStatus({ frame: text, write: t => process.stdout.write(t), tty: process.stdout.isTTY === true && !v.json, signal: stop.signal })
      return 0
    }
    case 'invite': {
      const [folder] = positionals(rest, 1, 'invite <folderId> [--read-only] [--expires 24h]')
      const r = await inviteCommand(home, folder!, { readOnly: v['read-only'], ...(v.expires === undefined ? {} : { ttlSeconds: parseDuration(v.expires) }) })
      // stdout carries the code only (`CODE=$(ferry invite docs)`); the explanation goes to stderr
      if (v.json) out(JSON.stringify(r, null, 2))
      else {
        out(printable(r.code))
        process.stderr.write(printableText(`one-time code for ${r.folder}, ${r.role}, valid until ${new Date(r.expiresAt).toISOString()}; on the other device: ferry join <code> <path>\n`))
      }
      return 0
    }
    case 'join': {
      const [code, path] = positionals(rest, 2, 'join <code> <path> [--name NAME]')
      // loaded on demand, like the daemon: it brings libp2p
      const { joinCommand } = await import('../commands/join-command.ts')
      const r = await joinCommand(home, code!, path!, v.name === undefined ? {} : { name: v.name })
      print(r, () => `joined folder ${r.folder} at ${r.path} (${r.role}), shared by ${r.inviter}${r.daemonReloaded ? '' : '; run `ferry start` to sync'}`)
      return 0
    }
    case 'revert': {
      const [folder] = positionals(rest, 1, 'revert <folderId>')
      const r = await revertCommand(home, folder!)
      print(r, () => `${r.folder}: ${r.reverted.length === 0 ? 'no local changes' : `reverted ${r.reverted.length} change${r.reverted.length === 1 ? '' : 's'}`}`)
      return 0
    }
    case 'events': {
      positionals(rest, 0, 'events [--json]')
      const names: Record<string, string | undefined> = Object.fromEntries(Object.entries((await loadConfig(home)).devices).map(([id, d]) => [id, d.name]))
      names[(await idCommand(home)).deviceId] = 'this device'
      const stop = new AbortController()
      process.once('SIGINT', () => stop.abort())
      process.once('SIGTERM', () => stop.abort())
      await followEvents(home, e => out(v.json ? JSON.stringify(e) : printableText(formatEvent(e, names))), {
        signal: stop.signal,
        // on stderr, so that stdout carries events only; tells a script the stream is live
        onOpen: () => process.stderr.write(`following events of ${home} (Ctrl-C stops)\n`)
      })
      return 0
    }
    case 'conflicts': {
      positionals(rest, 0, 'conflicts [--json]')
      const r = await conflictsCommand(home)
      const devices = (await loadConfig(home)).devices
      print(r, () => formatConflicts(r, d => devices[d]?.name))
      return 0
    }
    case 'revisions': {
      if (v.deleted) {
        const [folder] = positionals(rest, 1, 'revisions <folderId> --deleted [--json]')
        const r = await deletedCommand(home, folder!)
        const devices = (await loadConfig(home)).devices
        print(r, () => formatDeleted(folder!, r, d => devices[d]?.name))
        return 0
      }
      const [folder, path] = positionals(rest, 2, 'revisions <folderId> <path> [--json]')
      const r = await revisionsCommand(home, folder!, path!)
      const devices = (await loadConfig(home)).devices
      print(r, () => formatRevisions(path!, r, d => devices[d]?.name))
      return 0
    }
    case 'restore': {
      const [folder, path] = positionals(rest, 2, 'restore <folderId> <path> [--version ID] [--to PATH]')
      const r = await restoreCommand(home, folder!, path!, { ...(v.version === undefined ? {} : { version: v.version }), ...(v.to === undefined ? {} : { to: v.to }) })
      print(r, () => formatRestore(r))
      return 0
    }
    case 'relay': {
      const [sub, ...more] = rest
      if (sub === 'verify') {
        positionals(more, 0, 'relay verify')
        const r = await relayVerifyCommand(home)
        print(r, () => formatVerifyReport(r))
        return r.ok ? 0 : 1
      }
      positionals(rest, 0, 'relay [--listen MA]... [--retention DAYS] [--metrics-listen [HOST:]PORT] | relay verify')
      let retentionDays: number | undefined
      if (v.retention !== undefined) {
        retentionDays = Number(v.retention)
        if (!Number.isFinite(retentionDays) || retentionDays < 0) throw new UsageError(`--retention must be a number of days >= 0, not ${JSON.stringify(v.retention)}`)
      }
      const metricsListen = v['metrics-listen'] === undefined ? undefined : usage(() => parseMetricsListen(v['metrics-listen']!))
      return await startRelay(home, v.listen.length > 0 ? listenAddrs(v.listen) : undefined, retentionDays, metricsListen)
    }
    case 'service': {
      positionals(rest, 1, 'service install [--relay] [--unit-dir DIR] [--dry-run]')
      if (rest[0] !== 'install') throw new UsageError(`unknown service command ${JSON.stringify(rest[0])}`)
      const r = await serviceInstallCommand({ home, relay: v.relay, dryRun: v['dry-run'], ...(v['unit-dir'] === undefined ? {} : { unitDir: v['unit-dir'] }) })
      print(r, () => formatServiceInstall(r, v['dry-run']))
      return 0
    }
    case 'start': {
      positionals(rest, 0, 'start')
      return await startDaemon(home, v.listen.length > 0 ? listenAddrs(v.listen) : undefined, !v['no-mdns'], parsePort(v['api-port']))
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`)
  }
}

const DURATION_UNITS_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** '90', '90s', '10m', '24h', '7d' -> seconds */
function parseDuration (v: string): number {
  const m = /^(\d{1,7})([smhd]?)$/.exec(v.trim())
  if (m === null) throw new UsageError(`--expires takes a duration like 30m, 24h or 7d, not ${JSON.stringify(v)}`)
  return Number(m[1]) * DURATION_UNITS_S[m[2] === '' ? 's' : m[2]!]!
}

/** --listen values: multiaddrs, checked before anything is started */
function listenAddrs (list: string[]): string[] {
  for (const a of list) {
    try { multiaddr(a) } catch {
      throw new UsageError(`--listen takes a multiaddr like /ip4/0.0.0.0/tcp/4001, not ${JSON.stringify(a)}`)
    }
  }
  return list
}

/** a parse error of an option's value is a usage error (exit code 2) */
function usage<T> (parse: () => T): T {
  try { return parse() } catch (err) { throw new UsageError((err as Error).message) }
}

function parsePort (v: string | undefined): number {
  if (v === undefined) return 0
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--api-port must be a port number (0-65535), not ${JSON.stringify(v)}`)
  return n
}

async function waitForSignal (stamp: () => string): Promise<void> {
  await new Promise<void>(resolve => {
    const onSignal = (sig: string): void => {
      out(`${stamp()} ${sig}: shutting down`)
      resolve()
    }
    process.once('SIGINT', () => onSignal('SIGINT'))
    process.once('SIGTERM', () => onSignal('SIGTERM'))
  })
}

async function startRelay (home: string, listen: string[] | undefined, retentionDays: number | undefined, metricsListen: MetricsListen | undefined): Promise<number> {
  const stamp = (): string => new Date().toISOString().slice(11, 23)
  reexecWithFewMallocArenas()
  const { RelayNode } = await import('../../relay/relay-node.ts')
  flushCompileCache()
  const events = new NodeEvents()
  printNodeEvents(events, { print: out, update: () => {} })
  const relay = await RelayNode.open({
    home,
    ...(listen === undefined ? {} : { listen }),
    ...(retentionDays === undefined ? {} : { retentionDays }),
    ...(metricsListen === undefined ? {} : { metricsListen }),
    processMetrics: true,
    events
  })
  await relay.start()
  out(`${stamp()} ferry relay running; stop with Ctrl-C`)
  await waitForSignal(stamp)
  await relay.stop()
  out(`${stamp()} stopped`)
  return 0
}

async function startDaemon (home: string, listen: string[] | undefined, mdns: boolean, apiPort: number): Promise<number> {
  const stamp = (): string => new Date().toISOString().slice(11, 23)
  reexecWithFewMallocArenas()
  // loaded on demand: the other commands start fast without libp2p
  const { Daemon } = await import('../daemon/daemon.ts')
  // the daemon's modules are in the compile cache now, not only at exit: the next start needs no type stripping
  flushCompileCache()
  const view = new ProgressView(process.stdout, { tty: process.stdout.isTTY === true })
  const events = new NodeEvents()
  printNodeEvents(events, view)
  const daemon = await Daemon.open({
    home,
    ...(listen === undefined ? {} : { listen }),
    mdns,
    apiPort,
    processMetrics: true,
    // how often every folder is walked in full (default 60 s); for tests and tuning
    ...(process.env.FERRY_RESCAN_INTERVAL_MS === undefined ? {} : { rescanIntervalMs: Math.max(100, Number(process.env.FERRY_RESCAN_INTERVAL_MS) || 60_000) }),
    events
  })
  await daemon.start()
  out(`${stamp()} ferry running; stop with Ctrl-C`)
  await waitForSignal(stamp)
  await daemon.stop()
  out(`${stamp()} stopped`)
  return 0
}

export async function main (argv: string[]): Promise<void> {
  try {
    process.exitCode = await run(argv)
  } catch (err) {
    if (err instanceof FerryError) {
      process.stderr.write(`ferry: ${printable(err.message)}${err.hint === undefined ? '' : ` (${printable(err.hint)})`}\n`)
      process.exitCode = err instanceof UsageError ? 2 : 1
    } else {
      // one line: a library's message may span many (the stack is behind FERRY_DEBUG_STACK)
      process.stderr.write(`ferry: unexpected error: ${printable(((err as Error).message ?? String(err)).trim().split('\n')[0] ?? '')}\n`)
      if (process.env.FERRY_DEBUG_STACK !== undefined) process.stderr.write(`${(err as Error).stack ?? ''}\n`)
      process.exitCode = 1
    }
  }
}
