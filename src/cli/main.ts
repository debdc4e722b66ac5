import { parseArgs, type ParseArgsConfig } from 'node:util'
import { FerryError } from '../errors.ts'
import { resolveHome } from './home.ts'
import {
  deviceAddCommand, folderAddCommand, folderListCommand, idCommand, initCommand, shareCommand, statusCommand
} from './commands.ts'
import { formatFolders, formatStatus } from './format.ts'
import { conflictsCommand, deletedCommand, restoreCommand, revisionsCommand } from './history-commands.ts'
import { formatConflicts, formatDeleted, formatRestore, formatRevisions } from './format-history.ts'
import { ProgressView } from './progress-view.ts'

const USAGE = `usage: ferry <command> [--home DIR]
  init                                   create this device's identity
  id                                     print the device id
  folder add <path> --id <folderId>      sync a directory as a folder
  folder list [--json]                   list folders and their members
  device add <deviceId> [--addr MA]... [--name NAME]   trust a device
  share <folderId> <deviceId> [--read-only]            make a device a member
  start [--listen MA]... [--no-mdns]     run the node until SIGINT/SIGTERM
  status [--json]                        what the running node is doing
  conflicts [--json]                     conflict copies kept in every folder
  revisions <folderId> <path> [--json]   every known version of a file, newest first
  revisions <folderId> --deleted         deleted files that can be restored
  restore <folderId> <path> [--version ID] [--to PATH]   bring a version back (daemon must run)`

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
  listen: { type: 'string', multiple: true, default: [] },
  'no-mdns': { type: 'boolean', default: false },
  deleted: { type: 'boolean', default: false },
  version: { type: 'string' },
  to: { type: 'string' },
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
      const [folder, device] = positionals(rest, 2, 'share <folderId> <deviceId> [--read-only]')
      const r = await shareCommand(home, folder!, device!, { readOnly: v['read-only'] })
      print(r, () => `folder ${r.folder} shared with ${r.device} (${r.role})`)
      return 0
    }
    case 'status': {
      positionals(rest, 0, 'status')
      const r = await statusCommand(home)
      print(r, () => formatStatus(r))
      return 0
    }
    case 'conflicts': {
      positionals(rest, 0, 'conflicts [--json]')
      const r = await conflictsCommand(home)
      print(r, () => formatConflicts(r))
      return 0
    }
    case 'revisions': {
      if (v.deleted) {
        const [folder] = positionals(rest, 1, 'revisions <folderId> --deleted [--json]')
        const r = await deletedCommand(home, folder!)
        print(r, () => formatDeleted(folder!, r))
        return 0
      }
      const [folder, path] = positionals(rest, 2, 'revisions <folderId> <path> [--json]')
      const r = await revisionsCommand(home, folder!, path!)
      print(r, () => formatRevisions(path!, r))
      return 0
    }
    case 'restore': {
      const [folder, path] = positionals(rest, 2, 'restore <folderId> <path> [--version ID] [--to PATH]')
      const r = await restoreCommand(home, folder!, path!, { ...(v.version === undefined ? {} : { version: v.version }), ...(v.to === undefined ? {} : { to: v.to }) })
      print(r, () => formatRestore(r))
      return 0
    }
    case 'start': {
      positionals(rest, 0, 'start')
      return await startDaemon(home, v.listen.length > 0 ? v.listen : undefined, !v['no-mdns'])
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`)
  }
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
  await new Promise<void>(resolve => {
    const onSignal = (sig: string): void => {
      out(`${stamp()} ${sig}: shutting down`)
      resolve()
    }
    process.once('SIGINT', () => onSignal('SIGINT'))
    process.once('SIGTERM', () => onSignal('SIGTERM'))
  })
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
