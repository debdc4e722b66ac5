import { Command, CommanderError, Help, Option } from 'commander'
import { GLOBAL_OPTIONS, globalOptions } from './command-kit.ts'
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, usageFromCommander } from './cli-errors.ts'
import { packageVersion } from './package-root.ts'
import { out } from './output.ts'
import { registerHomeCommands } from './commands/home-cli.ts'
import { registerFolderCommands } from './commands/folder-cli.ts'
import { registerDeviceCommands } from './commands/device-cli.ts'
import { registerSharingCommands } from './commands/sharing-cli.ts'
import { registerHistoryCommands } from './commands/history-cli.ts'
import { registerNodeCommands } from './commands/node-cli.ts'
import { registerLimitsCommands } from './commands/limits-cli.ts'
import { registerRecoverCommand } from './commands/keys-cli.ts'

const EPILOG = `
Devices are named by a name (--name), a full device id, or 10+ leading characters of one.
\`ferry <command> --help\` shows a command's arguments, options and examples.

Exit codes:
  ${EXIT_OK}  done
  ${EXIT_ERROR}  an error (one line on stderr, with a hint); also \`relay verify\` finding damage
  ${EXIT_USAGE}  a usage error: unknown command or option, missing or extra argument, bad option value`

/** What the last run asked for that outlives the parse: --debug (the stack of an unexpected error). */
export interface RunState { debug: boolean }

/**
 * The whole command line of ferry as a commander program. Global options (--home, --debug)
 * go before the command (and, hidden, after it too); each command's own options after it, so
 * `restore --version ID` is restore's option while `ferry --version` prints the version.
 */
export function buildProgram (state: RunState): Command {
  const program = new Command('ferry')
    .description('keeps a folder identical on all your devices, peer to peer')
    .version(packageVersion(), '-V, --version', "print ferry's version")
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .configureHelp({
      showGlobalOptions: true,
      // a command's help lists --home and --debug: not the program's --version (restore has its
      // own), nor a parent command's options (`relay verify` takes no --listen)
      visibleGlobalOptions (cmd: Command) { return Help.prototype.visibleGlobalOptions.call(this, cmd).filter(o => GLOBAL_OPTIONS.some(g => g.flags === o.flags)) }
    })
    .addHelpText('after', EPILOG)
  for (const g of GLOBAL_OPTIONS) program.addOption(new Option(g.flags, g.description))
  // `ferry version`, as before `--version` was a flag of commander's
  program.command('version', { hidden: true }).action(() => { out(packageVersion()) })

  registerHomeCommands(program)
  registerFolderCommands(program)
  registerDeviceCommands(program)
  registerSharingCommands(program)
  registerRecoverCommand(program)
  registerHistoryCommands(program)
  registerNodeCommands(program)
  registerLimitsCommands(program)

  program.hook('preAction', (_program, actionCommand) => { state.debug ||= globalOptions(actionCommand).debug === true })
  handleParseErrors(program, program)
  return program
}

/**
 * Every command (and subcommand) hands its parse errors back as one-line UsageErrors naming
 * its own help; commander writes nothing to stderr itself. Help and --version go to stdout.
 */
function handleParseErrors (cmd: Command, program: Command): void {
  cmd.configureOutput({ writeErr: () => {}, outputError: () => {} })
  cmd.exitOverride(err => {
    if (err.exitCode === 0) throw err
    if (cmd === program && err.code === 'commander.help') {
      // `ferry` alone: the overview, as a usage error
      program.outputHelp()
      throw new CommanderError(EXIT_USAGE, 'ferry.noCommand', '')
    }
    throw usageFromCommander(err, cmd)
  })
  for (const sub of cmd.commands) handleParseErrors(sub, program)
}
