import type { Command } from 'commander'
import { inviteCommand, revertCommand, shareCommand, unshareCommand } from '../../commands/index.ts'
import { printable, printableText } from '../../text/printable.ts'
import { action, defineCommand } from '../command-kit.ts'
import { out } from '../output.ts'
import { formatUnshare } from '../format.ts'
import { parseDuration } from '../parse-values.ts'

const DEVICE_REF = 'a device name, a full device id, or 10+ leading characters of one'

/** share, unshare, invite, join, revert: who takes part in a folder */
export function registerSharingCommands (program: Command): void {
  action<{ readOnly?: boolean, replica?: boolean }>(defineCommand(program, {
    name: 'share',
    summary: 'make a trusted device a member of a folder',
    json: true,
    examples: ['ferry share docs desktop', 'ferry share docs laptop --read-only', 'ferry share docs my-relay --replica']
  }).argument('<folderId>', 'the folder').argument('<device>', DEVICE_REF)
    .option('--read-only', "the device's changes are not accepted")
    .option('--replica', 'the device is a relay keeping a copy'), async (c, [folder, device], o) => {
    const r = await shareCommand(c.home, folder!, device!, { readOnly: o.readOnly === true, replica: o.replica === true })
    c.print(r, () => `folder ${r.folder} shared with ${r.device} (${r.role})`)
  })

  action<{ untrust?: boolean }>(defineCommand(program, {
    name: 'unshare',
    summary: 'stop sharing a folder with a device; the node hangs up on it and the device is told',
    json: true,
    examples: ['ferry unshare docs alice', 'ferry unshare docs alice --untrust   # and stop trusting it']
  }).argument('<folderId>', 'the folder').argument('<device>', DEVICE_REF)
    .option('--untrust', 'also stop trusting the device (as `ferry device remove`)'), async (c, [folder, device], o) => {
    const r = await unshareCommand(c.home, folder!, device!, { untrust: o.untrust === true })
    c.print(r, () => formatUnshare(r))
  })

  action<{ readOnly?: boolean, expires?: string }>(defineCommand(program, {
    name: 'invite',
    summary: 'print a one-time pairing code for a folder (alone on stdout; the daemon must run)',
    json: true,
    examples: ['CODE=$(ferry invite docs)', 'ferry invite docs --read-only --expires 7d']
  }).argument('<folderId>', 'the folder')
    .option('--read-only', 'the invited device joins as a read-only member')
    .option('--expires <duration>', 'how long the code is valid: 30m, 24h, 7d (default 24h)'), async (c, [folder], o) => {
    const r = await inviteCommand(c.home, folder!, { readOnly: o.readOnly === true, ...(o.expires === undefined ? {} : { ttlSeconds: parseDuration(o.expires, 'ferry invite') }) })
    // stdout carries the code only (`CODE=$(ferry invite docs)`); the explanation goes to stderr
    if (c.json) { c.print(r, () => ''); return }
    out(printable(r.code))
    process.stderr.write(printableText(`one-time code for ${r.folder}, ${r.role}, valid until ${new Date(r.expiresAt).toISOString()}; on the other device: ferry join <code> <path>\n`))
  })

  action<{ name?: string }>(defineCommand(program, {
    name: 'join',
    summary: 'join a folder someone invited this device to',
    json: true,
    examples: ['ferry join "$CODE" ~/Shared/docs --name alice']
  }).argument('<code>', 'the code `ferry invite` printed').argument('<path>', 'where the folder goes on this device')
    .option('--name <name>', 'a name for the inviting device'), async (c, [code, path], o) => {
    // loaded on demand, like the daemon: it brings libp2p
    const { joinCommand } = await import('../../commands/join-command.ts')
    const r = await joinCommand(c.home, code!, path!, o.name === undefined ? {} : { name: o.name })
    c.print(r, () => `joined folder ${r.folder} at ${r.path} (${r.role}), shared by ${r.inviter}${r.daemonReloaded ? '' : '; run `ferry start` to sync'}`)
  })

  action(defineCommand(program, {
    name: 'revert',
    summary: 'bring back files whose deletes are held; a read-only member: discard local changes',
    json: true,
    examples: ['ferry revert docs']
  }).argument('<folderId>', 'the folder'), async (c, [folder]) => {
    const r = await revertCommand(c.home, folder!)
    c.print(r, () => `${r.folder}: ${r.reverted.length === 0 ? 'no local changes' : `reverted ${r.reverted.length} change${r.reverted.length === 1 ? '' : 's'}`}`)
  })
}
