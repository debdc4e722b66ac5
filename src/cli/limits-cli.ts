import { limitsSetCommand, limitsShowCommand, type LimitsShowResult } from '../commands/index.ts'
import type { RateLimits } from '../config/config-types.ts'
import { formatByteRate, parseByteRate } from '../config/byte-rate.ts'
import { positionals, UsageError } from './usage.ts'

/** What `ferry limits ...` needs from the parsed command line. */
export interface LimitsContext {
  home: string
  device?: string
  upload?: string
  download?: string
  /** prints `data` as JSON with --json, else the text */
  print: (data: unknown, text: () => string) => void
}

/** `ferry start --max-upload/--max-download`: a bad rate is a usage error (one line, exit 2) */
export function startLimitFlags (maxUpload: string | undefined, maxDownload: string | undefined): RateLimits {
  const parse = (v: string, flag: string): number => {
    try { return parseByteRate(v, flag) } catch (err) { throw new UsageError((err as Error).message) }
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

export async function limitsCli (sub: string | undefined, more: string[], c: LimitsContext): Promise<number> {
  switch (sub) {
    case 'set': {
      positionals(more, 0, 'limits set [--device <device>] [--upload <rate>] [--download <rate>]')
      const r = await limitsSetCommand(c.home, { ...(c.device === undefined ? {} : { device: c.device }), ...(c.upload === undefined ? {} : { upload: c.upload }), ...(c.download === undefined ? {} : { download: c.download }) })
      c.print(r, () => `${r.device === undefined ? 'daemon-wide' : `device ${r.device}`}: ${both(r.limits)}${r.daemonReloaded ? '' : ' (no daemon runs; it applies at the next `ferry start`)'}`)
      return 0
    }
    case 'show': {
      positionals(more, 0, 'limits show [--json]')
      const r = await limitsShowCommand(c.home)
      c.print(r, () => formatLimits(r))
      return 0
    }
    default:
      throw new UsageError(`usage: ferry limits set [--device <device>] [--upload <rate>] [--download <rate>] | limits show`)
  }
}
