import { openSync } from 'node:fs'
import { Writable } from 'node:stream'
import pino, { type DestinationStream, type Logger } from 'pino'
import pretty from 'pino-pretty'
import { FerryError } from '../errors.ts'
import { printable } from '../text/printable.ts'
import type { NodeEvents } from '../events/node-events.ts'
import { eventRecord, type LogLevel } from './event-records.ts'

export type { LogLevel } from './event-records.ts'
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error']
/** `text`: the plain stamped lines of `ferry start`; `pretty`: pino-pretty; `json`: one JSON record a line */
export type LogFormat = 'text' | 'pretty' | 'json'
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'pretty', 'json']
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'
export const DEFAULT_LOG_FORMAT: LogFormat = 'text'
/** a log file is created readable by its owner only: it names every synced path */
export const LOG_FILE_MODE = 0o600

/** the numeric pino level of each name, to compare levels */
const LEVEL_VALUES: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 }

export function levelAtLeast (level: LogLevel, min: LogLevel): boolean {
  return LEVEL_VALUES[level] >= LEVEL_VALUES[min]
}

export interface LoggerOptions {
  level: LogLevel
  /** where records go in the console format (`pretty` or `json`); none for `text` */
  console?: { format: 'pretty' | 'json', write: (chunk: string) => void }
  /** a file the JSON records are appended to (created with mode 0600) */
  file?: string
}

/**
 * A pino logger writing JSON records (`level` as a name, `time` as ISO 8601, `msg`, then the
 * fields) to a log file and/or, as JSON or pino-pretty, to the console; undefined when neither
 * is asked for. Writes are synchronous: a record is on disk when the call returns, and none is
 * lost when the process exits.
 */
export function createLogger (options: LoggerOptions): Logger | undefined {
  const streams: pino.StreamEntry[] = []
  if (options.file !== undefined) streams.push({ level: options.level, stream: pino.destination({ fd: openLogFile(options.file), sync: true }) })
  const c = options.console
  if (c !== undefined) {
    const stream: DestinationStream = c.format === 'json'
      ? { write: c.write }
      : pretty({ sync: true, singleLine: true, colorize: process.stdout.isTTY === true, destination: new Writable({ write: (chunk: Buffer | string, _enc, done) => { c.write(chunk.toString()); done() } }) })
    streams.push({ level: options.level, stream })
  }
  if (streams.length === 0) return undefined
  return pino({
    level: options.level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: label => ({ level: label }) }
  }, pino.multistream(streams))
}

function openLogFile (path: string): number {
  try {
    return openSync(path, 'a', LOG_FILE_MODE)
  } catch (err) {
    throw new FerryError(`cannot open the log file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'ERR_FERRY_LOG_FILE', 'check that its directory exists and is writable')
  }
}

/** Writes one record per node event that has one (./event-records.ts); returns the unsubscribe function. */
export function logNodeEvents (events: NodeEvents, logger: Logger): () => void {
  return events.subscribe(e => {
    const r = eventRecord(e)
    // the message is text for people: no control characters from names or paths (the fields are JSON-escaped)
    if (r !== undefined) logger[r.level](r.fields, printable(r.msg))
  })
}
