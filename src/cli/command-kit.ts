import { Option, type Command } from 'commander'
import { resolveHome } from './home.ts'
import { printResult } from './output.ts'

/**
 * The pieces every command is built from. A command file registers its commands with
 * `defineCommand(parent, ...)`, adds its arguments and options in commander's own calls
 * (`.argument()`, `.option()`: one line per flag), and runs its handler through `action()`,
 * which hands it the home, --json and the parsed options.
 */

/** the options every command takes: on `ferry` itself before the command, and after it too */
export const GLOBAL_OPTIONS = [
  { flags: '--home <dir>', description: "ferry's home directory (default: $FERRY_HOME, else ~/.ferry)" },
  { flags: '--debug', description: 'print the stack trace of an unexpected error' }
] as const

export interface GlobalOptions { home?: string, debug?: boolean }

/** What a command's action gets besides its arguments. */
export interface CommandContext {
  home: string
  json: boolean
  /** the result as JSON with --json, else the text */
  print: (data: unknown, text: () => string) => void
}

export interface CommandSpec {
  /** the word typed: `add` in `ferry folder add` */
  name: string
  /** one line: what the command does */
  summary: string
  /** 1–3 example command lines, shown after the options in `--help` */
  examples?: string[]
  /** the command prints data: it takes --json */
  json?: boolean
}

/** a command under `parent` with its summary, examples, the global options and (for data) --json */
export function defineCommand (parent: Command, spec: CommandSpec): Command {
  const cmd = parent.command(spec.name).description(spec.summary)
  // the global options again, hidden (`ferry --help` lists them): `ferry status --home X` works too
  for (const g of GLOBAL_OPTIONS) cmd.addOption(new Option(g.flags, g.description).hideHelp())
  if (spec.json === true) cmd.option('--json', 'print the result as JSON')
  if (spec.examples !== undefined && spec.examples.length > 0) {
    cmd.addHelpText('after', `\nExamples:\n${spec.examples.map(e => `  $ ${e}`).join('\n')}`)
  }
  return cmd
}

/** the global options as given, the one nearest the command winning (`ferry --home A status --home B`: B) */
export function globalOptions (cmd: Command): GlobalOptions {
  const merged: GlobalOptions = {}
  for (let c: Command | null = cmd; c !== null; c = c.parent) {
    const o = c.opts<GlobalOptions>()
    if (merged.home === undefined && o.home !== undefined) merged.home = o.home
    if (o.debug === true) merged.debug = true
  }
  return merged
}

export function commandContext (cmd: Command): CommandContext {
  const json = cmd.opts<{ json?: boolean }>().json === true
  return { home: resolveHome(globalOptions(cmd).home), json, print: (data, text) => { printResult(json, data, text) } }
}

/**
 * Runs `handler` for `cmd` with its context, its arguments (as declared, in order) and its
 * options; a returned number other than 0 is the exit code.
 */
export function action<O = Record<string, unknown>> (cmd: Command, handler: (c: CommandContext, args: Array<string | undefined>, opts: O) => Promise<number | void>): Command {
  return cmd.action(async () => {
    const code = await handler(commandContext(cmd), cmd.processedArgs as Array<string | undefined>, cmd.opts<O & Record<string, unknown>>())
    if (typeof code === 'number' && code !== 0) process.exitCode = code
  })
}

/** for a repeatable option: `--addr A --addr B` -> [A, B] */
export function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}
