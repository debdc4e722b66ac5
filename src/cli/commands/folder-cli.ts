import type { Command } from 'commander'
import { confirmDeletesCommand, folderAddCommand, folderListCommand, folderPauseCommand, folderRemoveCommand, folderRescanCommand } from '../../commands/index.ts'
import { action, defineCommand } from '../command-kit.ts'
import { formatFolders } from '../format.ts'
import { registerFolderKeyCommands } from './keys-cli.ts'

export const reloadNote = (daemonReloaded: boolean): string => daemonReloaded ? '' : ' (no daemon runs; it applies at the next `ferry start`)'

/** ferry folder add|list|remove|pause|resume|rescan|confirm-deletes */
export function registerFolderCommands (program: Command): void {
  const folder = program.command('folder').description('the folders this device syncs: add, list, remove, pause, resume, rescan')

  action<{ id: string }>(defineCommand(folder, {
    name: 'add',
    summary: 'sync a directory as a folder (created if missing)',
    json: true,
    examples: ['ferry folder add ~/Documents --id docs']
  }).argument('<path>', 'the directory').requiredOption('--id <folderId>', "the folder's id, the same on every device"), async (c, [path], o) => {
    const r = await folderAddCommand(c.home, path!, o.id)
    c.print(r, () => `folder ${r.id} at ${r.path}`)
  })

  action(defineCommand(folder, {
    name: 'list',
    summary: 'list folders and their members',
    json: true,
    examples: ['ferry folder list', 'ferry folder list --json']
  }), async c => {
    const r = await folderListCommand(c.home)
    c.print(r, () => formatFolders(r))
  })

  action(defineCommand(folder, {
    name: 'remove',
    summary: 'stop syncing a folder for good; its files stay on disk',
    json: true,
    examples: ['ferry folder remove docs']
  }).argument('<folderId>', 'the folder'), async (c, [id]) => {
    const r = await folderRemoveCommand(c.home, id!)
    c.print(r, () => `folder ${r.folder} no longer synced; its files at ${r.path} are untouched${r.databaseCleared ? '' : ' (its records stay in the database, unused, while the daemon holds it)'}`)
  })

  for (const [name, summary] of [['pause', 'stop syncing a folder for now; nothing is deleted'], ['resume', 'sync a paused folder again (a full scan first)']] as const) {
    action(defineCommand(folder, {
      name,
      summary,
      json: true,
      examples: [`ferry folder ${name} docs`]
    }).argument('<folderId>', 'the folder'), async (c, [id]) => {
      const r = await folderPauseCommand(c.home, id!, name === 'pause')
      c.print(r, () => `folder ${r.folder} ${r.paused ? 'paused' : 'resumed'}${reloadNote(r.daemonReloaded)}`)
    })
  }

  action(defineCommand(folder, {
    name: 'rescan',
    summary: 'the running node walks the folder in full now',
    json: true,
    examples: ['ferry folder rescan docs']
  }).argument('<folderId>', 'the folder'), async (c, [id]) => {
    const r = await folderRescanCommand(c.home, id!)
    c.print(r, () => `folder ${r.folder}: full scan requested`)
  })

  action(defineCommand(folder, {
    name: 'confirm-deletes',
    summary: 'record the deletes mass-delete protection holds (other devices delete too)',
    json: true,
    examples: ['ferry folder confirm-deletes docs', 'ferry revert docs   # the other way: bring the files back']
  }).argument('<folderId>', 'the folder'), async (c, [id]) => {
    const r = await confirmDeletesCommand(c.home, id!)
    c.print(r, () => `${r.folder}: ${r.confirmed} delete${r.confirmed === 1 ? '' : 's'} recorded`)
  })

  registerFolderKeyCommands(folder)
}
