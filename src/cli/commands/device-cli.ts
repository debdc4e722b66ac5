import type { Command } from 'commander'
import { deviceAddCommand, deviceListCommand, deviceRemoveCommand, deviceRenameCommand } from '../../commands/index.ts'
import { printable } from '../../text/printable.ts'
import { action, collect, defineCommand } from '../command-kit.ts'
import { formatDevices } from '../format.ts'
import { reloadNote } from './folder-cli.ts'

const DEVICE_REF = 'a device name, a full device id, or 10+ leading characters of one'

/** ferry device add|list|remove|rename */
export function registerDeviceCommands (program: Command): void {
  const device = program.command('device').description('the devices this device trusts: add, list, remove, rename')

  action<{ addr?: string[], name?: string }>(defineCommand(device, {
    name: 'add',
    summary: 'trust a device (again: add addresses, set its name)',
    json: true,
    examples: ['ferry device add 12D3KooW... --name desktop --addr /ip4/192.168.1.20/tcp/4001']
  }).argument('<deviceId>', "the device's id (`ferry id` on it)")
    .option('--addr <multiaddr>', 'where to reach it (repeatable)', collect)
    .option('--name <name>', 'a name for it, usable wherever a device goes'), async (c, [id], o) => {
    const r = await deviceAddCommand(c.home, id!, { addrs: o.addr ?? [], ...(o.name === undefined ? {} : { name: o.name }) })
    c.print(r, () => `trusting ${r.name === undefined ? '' : printable(r.name) + ' '}${r.id}${r.addrs.length > 0 ? ' at ' + r.addrs.join(', ') : ''}`)
  })

  action(defineCommand(device, {
    name: 'list',
    summary: 'trusted devices: id, name, addresses, folders; connected (when the node runs)',
    json: true,
    examples: ['ferry device list', 'ferry device list --json']
  }), async c => {
    const r = await deviceListCommand(c.home)
    c.print(r, () => formatDevices(r))
  })

  action(defineCommand(device, {
    name: 'remove',
    summary: 'stop trusting a device: it leaves every folder and the node hangs up on it',
    json: true,
    examples: ['ferry device remove desktop']
  }).argument('<device>', DEVICE_REF), async (c, [ref]) => {
    const r = await deviceRemoveCommand(c.home, ref!)
    c.print(r, () => `no longer trusting ${r.name === undefined ? '' : printable(r.name) + ' '}${r.id}${r.folders.length > 0 ? `; removed from ${r.folders.join(', ')}` : ''}${reloadNote(r.daemonReloaded)}`)
  })

  action(defineCommand(device, {
    name: 'rename',
    summary: 'give a device a new name (one printable line; names stay unique)',
    json: true,
    examples: ['ferry device rename desktop office-pc']
  }).argument('<device>', DEVICE_REF).argument('<new-name>', 'its new name'), async (c, [ref, name]) => {
    const r = await deviceRenameCommand(c.home, ref!, name!)
    c.print(r, () => `${r.id} is now called ${printable(r.name)}`)
  })
}
