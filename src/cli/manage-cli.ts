import { confirmDeletesCommand, deviceAddCommand, deviceListCommand, deviceRemoveCommand, deviceRenameCommand, folderAddCommand, folderListCommand, folderPauseCommand, folderRemoveCommand, folderRescanCommand } from '../commands/index.ts'
import { formatDevices, formatFolders } from './format.ts'
import { printable } from '../text/printable.ts'
import { positionals, UsageError } from './usage.ts'

/** What `ferry folder ...` and `ferry device ...` need from the parsed command line. */
export interface ManageContext {
  home: string
  id?: string
  addr: string[]
  name?: string
  /** prints `data` as JSON with --json, else the text */
  print: (data: unknown, text: () => string) => void
}

const reloadNote = (daemonReloaded: boolean): string => daemonReloaded ? '' : ' (no daemon runs; it applies at the next `ferry start`)'

export async function folderCli (sub: string | undefined, more: string[], c: ManageContext): Promise<number> {
  switch (sub) {
    case 'add': {
      const [path] = positionals(more, 1, 'folder add <path> --id <folderId>')
      if (c.id === undefined) throw new UsageError('folder add needs --id <folderId>')
      const r = await folderAddCommand(c.home, path!, c.id)
      c.print(r, () => `folder ${r.id} at ${r.path}`)
      return 0
    }
    case 'list': {
      positionals(more, 0, 'folder list')
      const r = await folderListCommand(c.home)
      c.print(r, () => formatFolders(r))
      return 0
    }
    case 'confirm-deletes': {
      const [folder] = positionals(more, 1, 'folder confirm-deletes <folderId>')
      const r = await confirmDeletesCommand(c.home, folder!)
      c.print(r, () => `${r.folder}: ${r.confirmed} delete${r.confirmed === 1 ? '' : 's'} recorded`)
      return 0
    }
    case 'remove': {
      const [folder] = positionals(more, 1, 'folder remove <folderId>')
      const r = await folderRemoveCommand(c.home, folder!)
      c.print(r, () => `folder ${r.folder} no longer synced; its files at ${r.path} are untouched${r.databaseCleared ? '' : ' (its records stay in the database, unused, while the daemon holds it)'}`)
      return 0
    }
    case 'pause': case 'resume': {
      const [folder] = positionals(more, 1, `folder ${sub} <folderId>`)
      const r = await folderPauseCommand(c.home, folder!, sub === 'pause')
      c.print(r, () => `folder ${r.folder} ${r.paused ? 'paused' : 'resumed'}${reloadNote(r.daemonReloaded)}`)
      return 0
    }
    case 'rescan': {
      const [folder] = positionals(more, 1, 'folder rescan <folderId>')
      const r = await folderRescanCommand(c.home, folder!)
      c.print(r, () => `folder ${r.folder}: full scan requested`)
      return 0
    }
  }
  throw new UsageError('usage: ferry folder add|list|remove|pause|resume|rescan|confirm-deletes')
}

export async function deviceCli (sub: string | undefined, more: string[], c: ManageContext): Promise<number> {
  switch (sub) {
    case 'add': {
      const [id] = positionals(more, 1, 'device add <deviceId> [--addr MA]... [--name NAME]')
      const r = await deviceAddCommand(c.home, id!, { addrs: c.addr, ...(c.name === undefined ? {} : { name: c.name }) })
      c.print(r, () => `trusting ${r.name === undefined ? '' : printable(r.name) + ' '}${r.id}${r.addrs.length > 0 ? ' at ' + r.addrs.join(', ') : ''}`)
      return 0
    }
    case 'list': {
      positionals(more, 0, 'device list [--json]')
      const r = await deviceListCommand(c.home)
      c.print(r, () => formatDevices(r))
      return 0
    }
    case 'remove': {
      const [ref] = positionals(more, 1, 'device remove <name|id>')
      const r = await deviceRemoveCommand(c.home, ref!)
      c.print(r, () => `no longer trusting ${r.name === undefined ? '' : printable(r.name) + ' '}${r.id}${r.folders.length > 0 ? `; removed from ${r.folders.join(', ')}` : ''}${reloadNote(r.daemonReloaded)}`)
      return 0
    }
    case 'rename': {
      const [ref, name] = positionals(more, 2, 'device rename <name|id> <new-name>')
      const r = await deviceRenameCommand(c.home, ref!, name!)
      c.print(r, () => `${r.id} is now called ${printable(r.name)}`)
      return 0
    }
  }
  throw new UsageError('usage: ferry device add|list|remove|rename')
}
