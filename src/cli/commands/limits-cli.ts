import type { Command } from 'commander'
import { limitsSetCommand, limitsShowCommand, type LimitsShowResult } from '../../commands/index.ts'
import type { RateLimits } from '../../config/config-types.ts'
import { formatByteRate, parseByteRate } from '../../config/byte-rate.ts'
import { action, defineCommand } from '../command-kit.ts'
import { UsageError } from '../cli-errors.ts'

/** `ferry start --max-upload/--max-download`: a bad rate is a usage error (one line, exit 2) */
export function startLimitFlags (maxUpload: string | undefined, maxDownload: string | undefined): RateLimits {
  const parse = (v: string, flag: string): number => {
    try { return parseByteRate(v, flag) } catch (err) { throw new UsageError((err as Error).message, 'ferry start') }
  }
  return {
    ...(maxUpload === undefined ? {} : { uploadBytesPerSecond: parse(maxUpload, '--max-upload') }),
    ...(maxDownload === undefined ? {} : { downloadBytesPerSecond: parse(maxDownload, '--max-download') })
  }
}

const both = (r: RateLimits): string => `upload ${formatByteRate(r.uploadBytesPerSecond)}, download ${formatByteRate(r.downloadBytesPerSecond)}`

export function formatLimits (r: LimitsShowResult): string {
  const lines = [`daemon-wide: ${both(r.limits)}; LAN peers ${r.limits.exemptLan ? 'exempt' : 'limited too'}`]
  for (const [id, d] of Object.entries(r.devices)) lines.push(`device ${d.name ?? id}: ${both(d)}`)
  if (r.running === undefined) lines.push('no daemon runs')
  else lines.push(`running: ${both(r.running)}; now up ${formatByteRate(r.running.uploadRate)}, down ${formatByteRate(r.running.downloadRate)}`)
  return lines.join('\n')
}

/** ferry limits set|show */
export function registerLimitsCommands (program: Command): void {
  const limits = program.command('limits').description('rate limits on block traffic (file contents and uploads to relays): set, show')

  action<{ device?: string, upload?: string, download?: string }>(defineCommand(limits, {
    name: 'set',
    summary: 'limit block traffic of the whole node, or to and from one device (RATE: 10MiB, 512KiB, 1MB, bytes; unlimited)',
    json: true,
    examples: ['ferry limits set --upload 2MiB --download 10MiB', 'ferry limits set --device laptop --upload 512KiB', 'ferry limits set --download unlimited']
  })
    .option('--device <device>', 'only the traffic with this device (a name, an id, or the start of one)')
    .option('--upload <rate>', 'at most this many bytes a second out')
    .option('--download <rate>', 'at most this many bytes a second in'), async (c, _args, o) => {
    const r = await limitsSetCommand(c.home, { ...(o.device === undefined ? {} : { device: o.device }), ...(o.upload === undefined ? {} : { upload: o.upload }), ...(o.download === undefined ? {} : { download: o.download }) })
    c.print(r, () => `${r.device === undefined ? 'daemon-wide' : `device ${r.device}`}: ${both(r.limits)}${r.daemonReloaded ? '' : ' (no daemon runs; it applies at the next `ferry start`)'}`)
  })

  action(defineCommand(limits, {
    name: 'show',
    summary: "the limits, and the running node's current rates",
    json: true,
    examples: ['ferry limits show', 'ferry limits show --json']
  }), async c => {
    const r = await limitsShowCommand(c.home)
    c.print(r, () => formatLimits(r))
  })
}
