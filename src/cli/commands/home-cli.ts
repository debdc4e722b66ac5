import type { Command } from 'commander'
import { idCommand, initCommand, statusCommand } from '../../commands/index.ts'
import { loadConfig } from '../../config/config.ts'
import { followDaemonEvents } from '../../api/event-follower.ts'
import { printable, printableText } from '../../text/printable.ts'
import { UsageError } from '../cli-errors.ts'
import { action, defineCommand } from '../command-kit.ts'
import { formatStatus } from '../format.ts'
import { watchStatus } from '../status-watch.ts'
import { formatRelayStatus } from '../format-relay.ts'
import { formatEvent } from '../format-event.ts'
import { out } from '../output.ts'

/** init, id, status, events: this device and its running node */
export function registerHomeCommands (program: Command): void {
  action(defineCommand(program, {
    name: 'init',
    summary: "create this device's identity (a private home, a 0600 key); prints the device id last",
    json: true,
    examples: ['ferry init', 'ferry --home /srv/ferry init']
  }), async c => {
    const r = await initCommand(c.home)
    c.print(r, () => `${r.tightenedFrom === undefined ? '' : `tightened ${r.home} from mode ${r.tightenedFrom} to 0700 (only you may read it)\n`}initialised ${r.home}\n${r.deviceId}`)
  })

  action(defineCommand(program, {
    name: 'id',
    summary: 'print the device id',
    json: true,
    examples: ['ferry id']
  }), async c => {
    const r = await idCommand(c.home)
    c.print(r, () => r.deviceId)
  })

  const status = defineCommand(program, {
    name: 'status',
    summary: 'what the running node (or relay) is doing: peers, folders, in sync or what is needed',
    json: true,
    examples: ['ferry status', 'ferry status --json', 'ferry status --watch']
  })
  status.option('--watch', 'redraw every second until Ctrl-C (with --json: one object a line)')
  action<{ watch?: boolean }>(status, async (c, _args, o) => {
    if (o.watch !== true) {
      const r = await statusCommand(c.home)
      c.print(r, () => 'relay' in r ? formatRelayStatus(r) : formatStatus(r))
      return
    }
    const frame = async (): Promise<string> => {
      const r = await statusCommand(c.home)
      return c.json ? JSON.stringify(r) : printableText('relay' in r ? formatRelayStatus(r) : formatStatus(r))
    }
    const stop = new AbortController()
    process.once('SIGINT', () => stop.abort())
    process.once('SIGTERM', () => stop.abort())
    await watchStatus({ frame, write: t => process.stdout.write(t), tty: process.stdout.isTTY === true && !c.json, signal: stop.signal })
  })

  const events = defineCommand(program, {
    name: 'events',
    summary: "follow the node's events, one line each, across daemon restarts, until Ctrl-C",
    json: true,
    examples: ['ferry events', 'ferry events --json   # one JSON object per line', 'ferry events --wait 0   # fail at once when no daemon runs']
  })
    .option('--wait <seconds>', 'wait this long for a daemon to start (default 60)')
  action<{ wait?: string }>(events, async (c, _args, o) => {
    const waitS = o.wait === undefined ? undefined : Number(o.wait)
    if (waitS !== undefined && !(Number.isFinite(waitS) && waitS >= 0)) throw new UsageError(`--wait takes a number of seconds >= 0, not ${JSON.stringify(o.wait)}`, 'ferry events')
    const names: Record<string, string | undefined> = Object.fromEntries(Object.entries((await loadConfig(c.home)).devices).map(([id, d]) => [id, d.name]))
    names[(await idCommand(c.home)).deviceId] = 'this device'
    const stop = new AbortController()
    process.once('SIGINT', () => stop.abort())
    process.once('SIGTERM', () => stop.abort())
    await followDaemonEvents(c.home, e => out(c.json ? JSON.stringify(e) : printableText(formatEvent(e, names))), {
      signal: stop.signal,
      ...(waitS === undefined ? {} : { waitMs: waitS * 1000 }),
      onNotice: line => process.stderr.write(`ferry events: ${printable(line)}\n`),
      // on stderr, so that stdout carries events only; tells a script the stream is live
      onOpen: () => process.stderr.write(`following events of ${c.home} (Ctrl-C stops)\n`)
    })
  })
}
