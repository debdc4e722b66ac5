import { parseArgs, type ParseArgsConfig } from 'node:util'
import { FerryError } from '../errors.ts'
import { resolveHome } from './home.ts'
import {
  deviceAddCommand, folderAddCommand, folderListCommand, idCommand, initCommand, shareCommand, statusCommand
} from './commands.ts'
import { formatFolders, formatStatus } from './format.ts'
import { relayVerifyCommand } from './relay-commands.ts'
import { formatRelayStatus, formatVerifyReport } from './format-relay.ts'
import { ProgressView } from './progress-view.ts'

const USAGE = `usage: ferry <command> [--home DIR]
  init                                   create this device's identity
  id                                     print the device id
  folder add <path> --id <folderId>      sync a directory as a folder
  folder list [--json]                   list folders and their members
  device add <deviceId> [--addr MA]... [--name NAME]   trust a device
  share <folderId> <deviceId> [--read-only|--replica]  make a device a member (--replica: a relay)
  start [--listen MA]... [--no-mdns]     run the node until SIGINT/SIGTERM
  status [--json]                        what the running node is doing
  relay [--listen MA]... [--retention DAYS]   run a relay node until SIGINT/SIGTERM
  relay verify [--json]                  re-hash every stored block, check every record; non-zero on damage`

class UsageError extends FerryError {
  constructor (message: string) { super(message, 'ERR_FERRY_USAGE', 'run `ferry --help`') }
}

const OPTIONS = {
  home: { type: 'string' },
  json: { type: 'boolean', default: false },
  id: { type: 'string' },
  addr: { type: 'string', multiple: true, default: [] },
  name: { type: 'string' },
  'read-only': { type: 'boolean', default: false },
  replica: { type: 'boolean', default: false },
  retention: { type: 'string' },
  listen: { type: 'string', multiple: true, default: [] },
  'no-mdns': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} satisfies ParseArgsConfig['options']

function out (line: string): void { process.stdout.write(line + '\n') }

function positionals (list: string[], count: number, usage: string): string[] {
  if (list.length !== count) throw new UsageError(`usage: ferry ${usage}`)
  return list
}

async function run (argv: string[]): Promise<number> {
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
  const print = (data: unknown, text: () => string): void => out(v.json ? JSON.stringify(data, null, 2) : text())

  switch (command) {
    case 'init': {
      positionals(rest, 0, 'init')
      const r = await initCommand(home)
      print(r, () => `initialised ${r.home}\n${r.deviceId}`)
      return 0
    }
    case 'id': {
      positionals(rest, 0, 'id')
      const r = await idCommand(home)
      print(r, () => r.deviceId)
      return 0
    }
    case 'folder': {
      const [sub, ...more] = rest
      if (sub === 'add') {
        const [path] = positionals(more, 1, 'folder add <path> --id <folderId>')
        if (v.id === undefined) throw new UsageError('folder add needs --id <folderId>')
        const r = await folderAddCommand(home, path!, v.id)
        print(r, () => `folder ${r.id} at ${r.path}`)
        return 0
      }
      if (sub === 'list') {
        positionals(more, 0, 'folder list')
        const r = await folderListCommand(home)
        print(r, () => formatFolders(r))
        return 0
      }
      throw new UsageError('usage: ferry folder add|list')
    }
    case 'device': {
      const [sub, ...more] = rest
      if (sub !== 'add') throw new UsageError('usage: ferry device add <deviceId> [--addr MA]... [--name NAME]')
      const [id] = positionals(more, 1, 'device add <deviceId> [--addr MA]... [--name NAME]')
      const r = await deviceAddCommand(home, id!, { addrs: v.addr, ...(v.name === undefined ? {} : { name: v.name }) })
      print(r, () => `trusting ${r.name === undefined ? '' : r.name + ' '}${r.id}${r.addrs.length > 0 ? ' at ' + r.addrs.join(', ') : ''}`)
      return 0
    }
    case 'share': {
      const [folder, device] = positionals(rest, 2, 'share <folderId> <deviceId> [--read-only|--replica]')
      const r = await shareCommand(home, folder!, device!, { readOnly: v['read-only'], replica: v.replica })
      print(r, () => `folder ${r.folder} shared with ${r.device} (${r.role})`)
      return 0
    }
    case 'status': {
      positionals(rest, 0, 'status')
      const r = await statusCommand(home)
      print(r, () => 'relay' in r ? formatRelayStatus(r) : formatStatus(r))
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
      positionals(rest, 0, 'relay [--listen MA]... [--retention DAYS] | relay verify')
      let retentionDays: number | undefined
      if (v.retention !== undefined) {
        retentionDays = Number(v.retention)
        if (!Number.isFinite(retentionDays) || retentionDays < 0) throw new UsageError(`--retention must be a number of days >= 0, not ${JSON.stringify(v.retention)}`)
      }
      return await startRelay(home, v.listen.length > 0 ? v.listen : undefined, retentionDays)
    }
    case 'start': {
      positionals(rest, 0, 'start')
      return await startDaemon(home, v.listen.length > 0 ? v.listen : undefined, !v['no-mdns'])
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`)
  }
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

async function startRelay (home: string, listen: string[] | undefined, retentionDays: number | undefined): Promise<number> {
  const stamp = (): string => new Date().toISOString().slice(11, 23)
  const { RelayNode } = await import('../../relay/relay-node.ts')
  const relay = await RelayNode.open({
    home,
    ...(listen === undefined ? {} : { listen }),
    ...(retentionDays === undefined ? {} : { retentionDays }),
    print: line => out(`${stamp()} ${line}`)
  })
  await relay.start()
  out(`${stamp()} ferry relay running; stop with Ctrl-C`)
  await waitForSignal(stamp)
  await relay.stop()
  out(`${stamp()} stopped`)
  return 0
}

async function startDaemon (home: string, listen: string[] | undefined, mdns: boolean): Promise<number> {
  const stamp = (): string => new Date().toISOString().slice(11, 23)
  // loaded on demand: the other commands start fast without libp2p
  const { Daemon } = await import('../daemon/daemon.ts')
  const view = new ProgressView(process.stdout, { tty: process.stdout.isTTY === true })
  const daemon = await Daemon.open({
    home,
    ...(listen === undefined ? {} : { listen }),
    mdns,
    print: line => view.print(`${stamp()} ${line}`),
    onProgress: transfers => view.update(transfers)
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
      process.stderr.write(`ferry: ${err.message}${err.hint === undefined ? '' : ` (${err.hint})`}\n`)
      process.exitCode = err instanceof UsageError ? 2 : 1
    } else {
      process.stderr.write(`ferry: unexpected error: ${(err as Error).message ?? String(err)}\n`)
      if (process.env.FERRY_DEBUG_STACK !== undefined) process.stderr.write(`${(err as Error).stack ?? ''}\n`)
      process.exitCode = 1
    }
  }
}
