import type { Command } from 'commander'
import type { NodeEvents } from '../events/node-events.ts'
import { eventRecord } from '../logging/event-records.ts'
import { createLogger, DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL, levelAtLeast, LOG_FORMATS, LOG_LEVELS, logNodeEvents, type LogFormat, type LogLevel } from '../logging/logger.ts'
import { printable } from '../text/printable.ts'
import { printNodeEvents, timeStamp } from './daemon-output.ts'
import type { ProgressView } from './progress-view.ts'
import { UsageError } from './cli-errors.ts'

/** The logging flags of `ferry start` and `ferry relay`, as commander parses them. */
export interface LogFlags { logLevel?: string, logFormat?: string, logFile?: string }

/** adds `--log-level`, `--log-format` and `--log-file` to `cmd` */
export function withLogOptions (cmd: Command): Command {
  return cmd
    .option('--log-level <level>', `${LOG_LEVELS.join('|')} (default ${DEFAULT_LOG_LEVEL})`)
    .option('--log-format <format>', `${LOG_FORMATS.join('|')} (default ${DEFAULT_LOG_FORMAT}: the plain lines)`)
    .option('--log-file <path>', 'also append JSON log records here (created 0600)')
}

export interface LogOptions {
  level: LogLevel
  format: LogFormat
  file?: string
}

/** The flags' values, checked (a bad one is a usage error). */
export function logOptionsOf (v: LogFlags, command = 'ferry'): LogOptions {
  const level = v.logLevel ?? DEFAULT_LOG_LEVEL
  const format = v.logFormat ?? DEFAULT_LOG_FORMAT
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level takes one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(level)}`, command)
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--log-format takes one of ${LOG_FORMATS.join(', ')}, not ${JSON.stringify(format)}`, command)
  if (v.logFile === '') throw new UsageError('--log-file takes a path', command)
  return { level: level as LogLevel, format: format as LogFormat, ...(v.logFile === undefined ? {} : { file: v.logFile }) }
}

/** What `ferry start` / `ferry relay` report with: the node's events, and lines of their own. */
export interface NodeOutput {
  /** a line of the command's own ("ferry running", "stopped"), at info */
  say: (line: string) => void
  stop: () => void
}

/**
 * Wires the node's events to the console and the log file: `text` prints today's stamped lines
 * (those of events at `level` or above) and the progress view; `pretty` prints pino-pretty
 * records through the progress view; `json` prints JSON records only (no progress view: stdout
 * stays one record a line). `--log-file` appends JSON records whatever the console format.
 */
export function nodeOutput (events: NodeEvents, options: LogOptions, view: Pick<ProgressView, 'print' | 'update'>): NodeOutput {
  const { format, level } = options
  const logger = createLogger({
    level,
    ...(format === 'text' ? {} : { console: { format, write: format === 'json' ? (s: string) => process.stdout.write(s) : (s: string) => view.print(s.replace(/\n$/, '')) } }),
    ...(options.file === undefined ? {} : { file: options.file })
  })
  const stops: Array<() => void> = []
  if (logger !== undefined) stops.push(logNodeEvents(events, logger))
  if (format === 'text') {
    stops.push(printNodeEvents(events, view, e => levelAtLeast(eventRecord(e)?.level ?? 'info', level)))
  } else if (format === 'pretty') {
    stops.push(events.on('transfer.snapshot', d => view.update(d.transfers)))
  }
  return {
    say: line => {
      logger?.info(line)
      if (format === 'text') view.print(`${timeStamp()} ${printable(line)}`)
    },
    stop: () => { for (const s of stops) s() }
  }
}
