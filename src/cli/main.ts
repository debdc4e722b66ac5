import { FerryError } from '../errors.ts'
import { printable } from '../text/printable.ts'
import { CommanderError, EXIT_ERROR, EXIT_USAGE, UsageError } from './cli-errors.ts'
import { buildProgram, type RunState } from './program.ts'

/**
 * ferry's entry (src/cli/ferry.js calls it): builds the commander program (program.ts), runs
 * the command, and maps what went wrong to one line on stderr and an exit code: 2 for a
 * usage error, 1 for any other. An unexpected error's stack only with --debug.
 */
export async function main (argv: string[]): Promise<void> {
  // (FERRY_DEBUG_STACK in the environment: the same as --debug, for processes started by others)
  const state: RunState = { debug: process.env.FERRY_DEBUG_STACK !== undefined }
  try {
    await buildProgram(state).parseAsync(argv, { from: 'user' })
  } catch (err) {
    process.exitCode = report(err, state.debug)
  }
}

function report (err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) return err.exitCode // help, --version, `ferry` alone: already printed
  if (err instanceof FerryError) {
    process.stderr.write(`ferry: ${printable(err.message)}${err.hint === undefined ? '' : ` (${printable(err.hint)})`}\n`)
    return err instanceof UsageError ? EXIT_USAGE : EXIT_ERROR
  }
  // one line: a library's message may span many (the stack is behind --debug)
  process.stderr.write(`ferry: unexpected error: ${printable(((err as Error).message ?? String(err)).trim().split('\n')[0] ?? '')}${debug ? '' : ' (--debug shows where)'}\n`)
  if (debug) process.stderr.write(`${(err as Error).stack ?? ''}\n`)
  return EXIT_ERROR
}
