/**
 * The reference tools come from Debian packages. Missing ones are installed with
 * `apt-get update && apt-get install -y <pkgs>` (root only; NO_INSTALL=1 disables it); when that
 * fails the reference is skipped with the reason.
 */
import { log, run, which } from './util.ts'

export interface ToolCheck { ok: boolean, path?: string, installed?: boolean, reason?: string }

/** binary name -> Debian package */
export async function ensureTools (tools: Record<string, string>): Promise<Record<string, ToolCheck>> {
  const out: Record<string, ToolCheck> = {}
  const missing = Object.keys(tools).filter(t => which(t) === undefined)
  for (const t of Object.keys(tools)) if (!missing.includes(t)) out[t] = { ok: true, path: which(t)! }
  if (missing.length === 0) return out
  const pkgs = missing.map(t => tools[t]!)
  let reason: string | undefined
  if (process.env.NO_INSTALL === '1') reason = 'not installed and NO_INSTALL=1'
  else if (process.getuid?.() !== 0) reason = 'not installed and not running as root (apt-get needs root)'
  else if (which('apt-get') === undefined) reason = 'not installed and no apt-get here'
  else {
    log(`installing ${pkgs.join(' ')} (missing): apt-get update && apt-get install -y ${pkgs.join(' ')}`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const up = await run('apt-get', ['update'], { timeoutMs: 300_000, env })
    if (up.code !== 0) reason = `apt-get update failed (${up.code}): ${up.stderr.trim().split('\n').slice(-2).join(' | ')}`
    else {
      const inst = await run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { timeoutMs: 600_000, env })
      if (inst.code !== 0) reason = `apt-get install ${pkgs.join(' ')} failed (${inst.code}): ${inst.stderr.trim().split('\n').slice(-2).join(' | ')}`
    }
  }
  for (const t of missing) {
    const p = which(t)
    out[t] = p !== undefined ? { ok: true, path: p, installed: true } : { ok: false, reason: reason ?? `${t} still missing after installing ${tools[t]!}` }
    if (p === undefined) log(`${t}: ${out[t]!.reason!} -> this reference is skipped`)
  }
  return out
}

export async function dpkgVersion (pkg: string): Promise<string | undefined> {
  const r = await run('dpkg-query', ['-W', '-f=${Version}', pkg], { timeoutMs: 10_000 }).catch(() => undefined)
  return r?.code === 0 ? r.stdout.trim() : undefined
}
