import { readFile, mkdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from '../config/atomic-write.ts'

export interface ServiceInstallOptions {
  /** the device's ferry home, put on the device unit's command line (the relay's is its StateDirectory) */
  home: string
  /** the relay's system unit instead of the device's user unit */
  relay: boolean
  /** render only: nothing is written */
  dryRun: boolean
  /** where to write the unit; default: the user's systemd user units (device), none (relay) */
  unitDir?: string
  /** the words that run this ferry: its Node, Node's flags and the launcher, absolute */
  launch: readonly string[]
  /** the directory holding the unit templates (ferry.service, ferry-relay.service) */
  templateDir: string
}

export interface ServiceInstallResult {
  unitName: string
  unit: string
  /** where the unit was written; absent when nothing was written */
  path?: string
  /** where the unit belongs, when it was not written there */
  suggestedPath?: string
  /** the commands that load and start the written unit */
  enable: string[]
}

/**
 * Renders packaging/systemd/ferry.service (or ferry-relay.service) with an ExecStart that runs
 * this ferry (`launch`: the Node now running, as the service manager's PATH may find an older
 * one, the launcher's flags and its absolute path) and, for a device, its --home.
 */
export async function serviceInstallCommand (opts: ServiceInstallOptions): Promise<ServiceInstallResult> {
  const unitName = opts.relay ? 'ferry-relay.service' : 'ferry.service'
  const template = await readFile(join(opts.templateDir, unitName), 'utf8')
  const launch = opts.launch.map(systemdArg).join(' ')
  const execStart = opts.relay
    ? `${launch} --home \${STATE_DIRECTORY} relay`
    : `${launch} --home ${systemdArg(resolve(opts.home))} start`
  const unit = renderUnit(template, execStart)
  const enable = opts.relay
    ? ['systemctl daemon-reload', 'systemctl enable --now ferry-relay']
    : ['systemctl --user daemon-reload', 'systemctl --user enable --now ferry']
  const unitDir = opts.unitDir ?? (opts.relay ? undefined : userUnitDir())
  if (opts.dryRun || unitDir === undefined) {
    return { unitName, unit, enable, suggestedPath: join(unitDir ?? '/etc/systemd/system', unitName) }
  }
  await mkdir(unitDir, { recursive: true })
  const path = join(resolve(unitDir), unitName)
  await writeFileAtomic(path, unit)
  return { unitName, unit, path, enable }
}

/** the template with its `ExecStart=` line replaced (the only line naming where ferry is) */
export function renderUnit (template: string, execStart: string): string {
  const lines = template.split('\n')
  const at = lines.findIndex(l => l.startsWith('ExecStart='))
  if (at < 0) throw new Error('the unit template has no ExecStart= line')
  lines[at] = `ExecStart=${execStart}`
  return lines.join('\n')
}

/** where systemd looks for a user's own units */
function userUnitDir (): string {
  const config = process.env.XDG_CONFIG_HOME !== undefined && process.env.XDG_CONFIG_HOME !== '' ? process.env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(config, 'systemd', 'user')
}

/**
 * One word of an ExecStart= command line: systemd splits on whitespace, unquotes "…" with C
 * escapes, and expands %-specifiers and $-variables, so those are quoted or doubled.
 */
export function systemdArg (word: string): string {
  const escaped = word.replaceAll('%', '%%').replaceAll('$', () => '$$')
  if (/^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped)) return escaped
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}
