import type { Command } from 'commander'
import { backupKeyCommand, rekeyCommand } from '../../commands/index.ts'
import { action, defineCommand } from '../command-kit.ts'
import { out } from '../output.ts'

/** ferry folder rekey|backup-key: the folder's keys */
export function registerFolderKeyCommands (folder: Command): void {
  action(defineCommand(folder, {
    name: 'rekey',
    summary: "make a new current key for a folder (after removing a member) and send it to the others",
    json: true,
    examples: ['ferry unshare docs old-laptop && ferry folder rekey docs']
  }).argument('<folderId>', 'the folder'), async (c, [id]) => {
    const r = await rekeyCommand(c.home, id!)
    c.print(r, () => `folder ${r.folder}: new key ${r.keyId.slice(0, 8)} (epoch ${r.epoch}) is current; ` + (r.daemonRunning
      ? (r.sentTo.length === 0 ? 'no member connected: they get it when they connect' : `sent to ${r.sentTo.length} connected member${r.sentTo.length === 1 ? '' : 's'}; the others get it when they connect`)
      : 'no daemon runs: members get it after `ferry start`'))
  })

  action(defineCommand(folder, {
    name: 'backup-key',
    summary: "print the folder's recovery phrase (its key: keep it secret, offline)",
    json: true,
    examples: ['ferry folder backup-key docs', 'ferry recover "<phrase>" ~/docs --id docs --relay /ip4/203.0.113.5/tcp/4001/p2p/12D3KooW...']
  }).argument('<folderId>', 'the folder'), async (c, [id]) => {
    const r = await backupKeyCommand(c.home, id!)
    process.stderr.write(`WARNING: these words ARE the key of folder ${r.folder}: anyone who has them and reaches its relay can read it. Write them down, keep them offline, never share them. With them, \`ferry recover\` gets the folder back from its relay.\n`)
    if (c.json) { c.print(r, () => ''); return }
    out(r.phrase)
    process.stderr.write(`folder id: ${r.folder} (recover needs it: --id ${r.folder}); key ${r.keyId.slice(0, 8)}, epoch ${r.epoch}; run this again after a rekey\n`)
  })
}

/** ferry recover: a folder back from its relay with nothing but its recovery phrase */
export function registerRecoverCommand (program: Command): void {
  action<{ relay: string, id: string }>(defineCommand(program, {
    name: 'recover',
    summary: 'get a folder back from its relay with its recovery phrase (every other device gone)',
    json: true,
    examples: ['ferry recover "word1 word2 ... word25" ~/docs --id docs --relay /ip4/203.0.113.5/tcp/4001/p2p/12D3KooW...']
  }).argument('<phrase>', 'the words `ferry folder backup-key` printed, in quotes').argument('<dir>', 'where the folder goes on this device')
    .requiredOption('--relay <multiaddr>', "the relay's address, ending in /p2p/<relay id>")
    .requiredOption('--id <folderId>', "the folder's id"), async (c, [phrase, dir], o) => {
    // loaded on demand: it brings libp2p
    const { recoverCommand } = await import('../../commands/recover-command.ts')
    const r = await recoverCommand(c.home, phrase!, dir!, { relay: o.relay, id: o.id })
    c.print(r, () => `folder ${r.folder} recovered at ${r.path} from relay ${r.relay} (key ${r.keyId.slice(0, 8)}, ${r.keys} key${r.keys === 1 ? '' : 's'}, changes of ${r.devices.length} device${r.devices.length === 1 ? '' : 's'})${r.sealedKeyring === 'other-key' ? '; the relay keeps keys sealed under a newer key than this phrase holds: data sealed under them stays closed' : ''}${r.daemonReloaded ? '; syncing' : '; run `ferry start` to sync'}`)
  })
}
