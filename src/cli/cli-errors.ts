import { CommanderError, type Command } from 'commander'
import { FerryError } from '../errors.ts'

/** ferry's exit codes (README.md and `ferry --help` list them) */
export const EXIT_OK = 0
/** an error: bad input the command itself refused, no daemon, a damaged relay store (`relay verify`) */
export const EXIT_ERROR = 1
/** a usage error: unknown command or option, missing or extra argument, a bad option value */
export const EXIT_USAGE = 2

/** A command line ferry cannot run: exit code 2, and a hint naming the help to read. */
export class UsageError extends FerryError {
  /** `command`: the command whose help the hint names, e.g. `ferry share` */
  constructor (message: string, command = 'ferry') { super(message, 'ERR_FERRY_USAGE', `run \`${command} --help\``) }
}

/** the command as typed: `ferry folder add` */
export function commandPath (cmd: Command): string {
  const names: string[] = []
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

/**
 * commander's parse error as one line: `unknown command 'stauts'; did you mean status?`.
 * Its message reads `error: ...` with the suggestion on a second line, `(Did you mean status?)`.
 */
export function usageFromCommander (err: CommanderError, cmd: Command): UsageError {
  const path = commandPath(cmd)
  if (err.code === 'commander.help') {
    // a command group without its subcommand (`ferry folder`)
    return new UsageError(`\`${path}\` needs a command: ${cmd.commands.filter(c => c.name() !== 'help').map(c => c.name()).join(', ')}`, path)
  }
  const [first = '', ...rest] = err.message.replace(/^error: /, '').split('\n')
  const suggestion = /\(Did you mean (.+)\?\)/.exec(rest.join(' '))?.[1]
  return new UsageError(`${first.replace(/\.$/, '')}${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`, path)
}

/** a parse error of an option's value is a usage error (exit code 2) */
export function asUsage<T> (parse: () => T, command?: string): T {
  try { return parse() } catch (err) { throw new UsageError((err as Error).message, command) }
}

export { CommanderError }
