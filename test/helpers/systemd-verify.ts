import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'

export const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze'

/** systemd-analyze is there to check units with (absent: those checks are skipped, and say so) */
export const HAVE_SYSTEMD_ANALYZE = existsSync(SYSTEMD_ANALYZE)
if (!HAVE_SYSTEMD_ANALYZE) console.warn(`${SYSTEMD_ANALYZE} is absent: systemd unit checks are skipped`)

/**
 * `systemd-analyze verify` on unit files: its findings (stderr), '' when it found none. `--man=no`:
 * no man pages are looked up. A unit's ExecStart binary must exist for it to pass.
 */
export async function verifyUnits (paths: string[]): Promise<string> {
  return await new Promise(resolve => {
    execFile(SYSTEMD_ANALYZE, ['verify', '--man=no', ...paths], (err, stdout, stderr) => {
      resolve(err === null ? stderr.trim() : `exit ${String(err.code)}: ${stderr.trim()}${stdout.trim()}`)
    })
  })
}
