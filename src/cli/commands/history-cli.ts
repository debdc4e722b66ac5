import type { Command } from 'commander'
import { conflictsCommand, deletedCommand, restoreCommand, revisionsCommand } from '../../commands/index.ts'
import { action, defineCommand } from '../command-kit.ts'
import { UsageError } from '../cli-errors.ts'
import { loadConfig } from '../../config/config.ts'
import { formatConflicts, formatDeleted, formatRestore, formatRevisions } from '../format-history.ts'

/** conflicts, revisions, restore: the history of synced files */
export function registerHistoryCommands (program: Command): void {
  action(defineCommand(program, {
    name: 'conflicts',
    summary: 'conflict copies kept in every folder: copy, original, device, time',
    json: true,
    examples: ['ferry conflicts', 'ferry conflicts --json']
  }), async c => {
    const r = await conflictsCommand(c.home)
    const devices = (await loadConfig(c.home)).devices
    c.print(r, () => formatConflicts(r, d => devices[d]?.name))
  })

  action<{ deleted?: boolean }>(defineCommand(program, {
    name: 'revisions',
    summary: 'every known version of a file, newest first; or (--deleted) the deleted files',
    json: true,
    examples: ['ferry revisions docs report.txt', 'ferry revisions docs --deleted --json']
  }).argument('<folderId>', 'the folder').argument('[path]', 'the file, relative to the folder')
    .option('--deleted', 'deleted files that can be restored, instead of one file'), async (c, [folder, path], o) => {
    if (o.deleted === true) {
      if (path !== undefined) throw new UsageError('revisions --deleted takes the folder alone, not a path', 'ferry revisions')
      const r = await deletedCommand(c.home, folder!)
      const devices = (await loadConfig(c.home)).devices
      c.print(r, () => formatDeleted(folder!, r, d => devices[d]?.name))
      return
    }
    if (path === undefined) throw new UsageError("missing required argument 'path' (or --deleted)", 'ferry revisions')
    const r = await revisionsCommand(c.home, folder!, path)
    const devices = (await loadConfig(c.home)).devices
    c.print(r, () => formatRevisions(path, r, d => devices[d]?.name))
  })

  action<{ version?: string, to?: string }>(defineCommand(program, {
    name: 'restore',
    summary: 'bring a version of a file back, as a new version every device gets (the daemon must run)',
    json: true,
    examples: ['ferry restore docs report.txt', 'ferry restore docs report.txt --version 3f2a9c0d1b7e --to report-old.txt']
  }).argument('<folderId>', 'the folder').argument('<path>', 'the file, relative to the folder')
    .option('--version <id>', 'the version to bring back (see `ferry revisions`; default: the newest earlier one)')
    .option('--to <path>', 'write it to this path in the folder instead'), async (c, [folder, path], o) => {
    const r = await restoreCommand(c.home, folder!, path!, { ...(o.version === undefined ? {} : { version: o.version }), ...(o.to === undefined ? {} : { to: o.to }) })
    c.print(r, () => formatRestore(r))
  })
}
