import type { Command } from 'commander'
import { relayQuotaSetCommand, relayVerifyCommand } from '../../commands/index.ts'
import { parseMetricsListen } from '../../metrics/metrics-server.ts'
import { parseStunListen } from '../../../relay/stun-server.ts'
import { parseByteSize } from '../../../relay/relay-limits.ts'
import { action, collect, defineCommand } from '../command-kit.ts'
import { asUsage, EXIT_ERROR, EXIT_OK, UsageError } from '../cli-errors.ts'
import { formatVerifyReport } from '../format-relay.ts'
import { listenAddrs, parsePort, parseRetentionDays } from '../parse-values.ts'
import { runDaemon, runRelay, type RelayRunOptions } from '../run-node.ts'
import { logOptionsOf, withLogOptions, type LogFlags } from '../log-flags.ts'
import { startLimitFlags } from './limits-cli.ts'
import { formatServiceInstall, launchWords, unitTemplateDir } from '../service-output.ts'
import { serviceInstallCommand } from '../../commands/service-commands.ts'

/** `ferry start`'s options as commander parses them (a new flag: one `.option()` line below, one field here) */
export interface StartFlags extends LogFlags { listen?: string[], mdns: boolean, apiPort?: string, maxUpload?: string, maxDownload?: string }
/** `ferry relay`'s options as commander parses them */
export interface RelayFlags extends LogFlags { listen?: string[], retention?: string, metricsListen?: string, stunListen?: string, stun: boolean, relayRate?: string, relayDaily?: string, quota?: string }

/** start, relay, relay verify, service install: running ferry */
export function registerNodeCommands (program: Command): void {
  const start = defineCommand(program, {
    name: 'start',
    summary: "run this device's node in the foreground until Ctrl-C (SIGINT) or SIGTERM",
    examples: ['ferry start', 'ferry start --listen /ip4/0.0.0.0/tcp/4001 --api-port 8384', 'ferry start --log-format json --log-file ~/.ferry/ferry.log']
  })
    .option('--listen <multiaddr>', 'listen here (repeatable; default /ip4/0.0.0.0/tcp/0)', collect)
    .option('--no-mdns', 'do not look for devices on the local network')
    .option('--api-port <port>', 'port of the HTTP API on 127.0.0.1 (default: any free port)')
    .option('--max-upload <rate>', 'limit block traffic out for this run, e.g. 1MiB (over the config; see `ferry limits`)')
    .option('--max-download <rate>', 'limit block traffic in for this run, e.g. 5MiB')
  withLogOptions(start)
  action<StartFlags>(start, async (c, _args, o) => await runDaemon({
    home: c.home,
    ...optional('listen', listenAddrs(o.listen, 'ferry start')),
    mdns: o.mdns,
    apiPort: parsePort(o.apiPort, 'ferry start'),
    limits: startLimitFlags(o.maxUpload, o.maxDownload),
    logs: logOptionsOf(o, 'ferry start')
  }))

  const relay = defineCommand(program, {
    name: 'relay',
    summary: 'run a relay node until Ctrl-C: it keeps every block and signed change of the devices that share with it',
    examples: ['ferry --home R relay --listen /ip4/0.0.0.0/tcp/4001', 'ferry relay --retention 30 --metrics-listen 9464', 'ferry relay verify']
  })
    .option('--listen <multiaddr>', 'listen here (repeatable; default /ip4/0.0.0.0/tcp/0)', collect)
    .option('--retention <days>', 'keep history this many days')
    .option('--metrics-listen <[host:]port>', 'serve Prometheus metrics at this loopback address (default host 127.0.0.1)')
    .option('--stun-listen <[host:]port>', "answer STUN on UDP here (default: the TCP listen address's port number)")
    .option('--no-stun', 'no STUN responder')
    .option('--relay-rate <rate>', 'relayed data per device, e.g. 8MiB (per second; default 8MiB)')
    .option('--relay-daily <size>', 'relayed data per device per UTC day, e.g. 10GiB (default 10GiB)')
    .option('--quota <size>', 'storage per device (the blocks it uploaded first), e.g. 10GiB (default: unlimited; `ferry relay quota set` sets one device\'s)')
  withLogOptions(relay)
  action<RelayFlags>(relay, async (c, _args, o) => {
    // `relay` runs itself and has one subcommand: anything else after it is a mistake
    if (relay.args.length > 0) throw new UsageError(`unknown command '${relay.args[0] ?? ''}' for ferry relay (its commands are verify and quota set)`, 'ferry relay')
    return await runRelay({
      home: c.home,
      ...optional('listen', listenAddrs(o.listen, 'ferry relay')),
      ...optional('retentionDays', parseRetentionDays(o.retention, 'ferry relay')),
      ...optional('metricsListen', o.metricsListen === undefined ? undefined : asUsage(() => parseMetricsListen(o.metricsListen!), 'ferry relay')),
      ...relayExtras(o),
      ...optional('quotaBytes', o.quota === undefined ? undefined : asUsage(() => parseByteSize('--quota', o.quota!), 'ferry relay')),
      logs: logOptionsOf(o, 'ferry relay')
    })
  })
  relay.allowExcessArguments(true)

  action(defineCommand(relay, {
    name: 'verify',
    summary: "re-hash every block the relay stores and check every record; exit code 1 on damage",
    json: true,
    examples: ['ferry --home R relay verify', 'ferry --home R relay verify --json']
  }), async c => {
    const r = await relayVerifyCommand(c.home)
    c.print(r, () => formatVerifyReport(r))
    return r.ok ? EXIT_OK : EXIT_ERROR
  })

  const quota = defineCommand(relay, {
    name: 'quota',
    summary: "storage quotas of a running relay's devices (the default: `ferry relay --quota`)",
    examples: ['ferry --home R relay quota set 12D3KooW... 20GiB']
  })
  action(defineCommand(quota, {
    name: 'set',
    summary: "set one device's storage quota on the running relay (`default`: back to --quota's)",
    json: true,
    examples: ['ferry --home R relay quota set 12D3KooW... 20GiB', 'ferry --home R relay quota set 12D3KooW... default']
  }).argument('<device>', "the device's id").argument('<size>', 'bytes, e.g. 20GiB, or `default`'), async (c, [device, size]) => {
    if (device === undefined || size === undefined) throw new UsageError('ferry relay quota set takes <device> <size>', 'ferry relay quota set')
    const limitBytes = size === 'default' ? null : asUsage(() => parseByteSize('size', size), 'ferry relay quota set')
    const r = await relayQuotaSetCommand(c.home, device, limitBytes)
    c.print(r, () => `${r.device}: ${r.usedBytes} of ${r.limitBytes ?? 'unlimited'} bytes`)
  })

  const service = program.command('service').description('run ferry as a systemd service')
  action<{ relay?: boolean, unitDir?: string, dryRun?: boolean }>(defineCommand(service, {
    name: 'install',
    summary: 'write a systemd unit that runs this ferry (`start`, or with --relay `relay`)',
    json: true,
    examples: ['ferry service install', 'ferry service install --dry-run', 'ferry service install --relay --unit-dir /etc/systemd/system']
  })
    .option('--relay', "the relay's system unit instead of the device's user unit")
    .option('--unit-dir <dir>', 'where to write the unit (default: ~/.config/systemd/user; --relay: print it)')
    .option('--dry-run', 'print the unit, write nothing'), async (c, _args, o) => {
    const dryRun = o.dryRun === true
    const r = await serviceInstallCommand({ home: c.home, relay: o.relay === true, dryRun, launch: launchWords(), templateDir: unitTemplateDir(), ...optional('unitDir', o.unitDir) })
    c.print(r, () => formatServiceInstall(r, dryRun))
  })
}

/** `{ key: value }`, or nothing when the value is undefined (exactOptionalPropertyTypes) */
function optional<K extends string, V> (key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : { [key]: value } as { [P in K]?: V }
}

/** STUN and relayed-data limits of `ferry relay`, checked */
function relayExtras (o: RelayFlags): Pick<RelayRunOptions, 'stun' | 'relayLimits'> {
  if (!o.stun && o.stunListen !== undefined) throw new UsageError('--stun-listen and --no-stun exclude each other', 'ferry relay')
  const stun = !o.stun ? false as const : o.stunListen === undefined ? undefined : asUsage(() => parseStunListen(o.stunListen!, '0.0.0.0'), 'ferry relay')
  const relayLimits = {
    ...optional('rateBytesPerSecond', o.relayRate === undefined ? undefined : asUsage(() => parseByteSize('--relay-rate', o.relayRate!, { rate: true }), 'ferry relay')),
    ...optional('dailyBytes', o.relayDaily === undefined ? undefined : asUsage(() => parseByteSize('--relay-daily', o.relayDaily!), 'ferry relay'))
  }
  return { ...optional('stun', stun), relayLimits }
}
