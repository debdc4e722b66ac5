/**
 * The name under which a losing concurrent version is kept:
 * `dir/name.sync-conflict-YYYYMMDD-HHMMSS-<shortDevice>.ext`. It depends only on the losing
 * version (its mtime and author), so devices that keep it usually pick the same name (the planner
 * appends another conflict suffix when the name is taken by other content).
 */
export function conflictPath (path: string, mtimeMs: number, modifiedBy: string): string {
  const slash = path.lastIndexOf('/')
  const dir = path.slice(0, slash + 1)
  const base = path.slice(slash + 1)
  const dot = base.lastIndexOf('.')
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, '']
  const t = new Date(mtimeMs)
  const p2 = (n: number): string => String(n).padStart(2, '0')
  const stamp = `${t.getUTCFullYear()}${p2(t.getUTCMonth() + 1)}${p2(t.getUTCDate())}-${p2(t.getUTCHours())}${p2(t.getUTCMinutes())}${p2(t.getUTCSeconds())}`
  return `${dir}${stem}.sync-conflict-${stamp}-${shortDeviceId(modifiedBy)}${ext}`
}

/** Ed25519 peer ids all start with `12D3KooW`; the tail tells devices apart. */
export function shortDeviceId (device: string): string {
  return device.slice(-7)
}

export function isConflictCopy (path: string): boolean {
  return /\.sync-conflict-\d{8}-\d{6}-[^/.]+(\.[^/]*)?$/.test(path)
}
