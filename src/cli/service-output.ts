import { FERRY_BIN, FERRY_NODE_FLAGS } from './node-flags.ts'
import { packageRoot } from './package-root.ts'
import { join } from 'node:path'
import type { ServiceInstallResult } from '../commands/service-commands.ts'

/** the words that run this ferry under a service manager */
export function launchWords (): string[] {
  return [process.execPath, ...FERRY_NODE_FLAGS, FERRY_BIN]
}

/** where the packaged systemd unit templates are */
export function unitTemplateDir (): string {
  return join(packageRoot(), 'packaging/systemd')
}

/** the text `ferry service install` prints */
export function formatServiceInstall (r: ServiceInstallResult, dryRun: boolean): string {
  if (dryRun) return r.unit.trimEnd()
  if (r.path === undefined) {
    return `${r.unit.trimEnd()}\n\n# save the unit above as ${r.suggestedPath ?? r.unitName} (or pass --unit-dir), then:\n${r.enable.map(c => `#   ${c}`).join('\n')}`
  }
  return `wrote ${r.path}\nto start it now and at every start of the service manager:\n${r.enable.map(c => `  ${c}`).join('\n')}`
}
