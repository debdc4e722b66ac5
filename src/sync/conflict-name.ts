/** at most this many characters of a device name go into a conflict copy's name */
export const MAX_CONFLICT_LABEL_CHARS = 16

/**
 * The part of a conflict copy's name that says whose version it is: the device's name made safe
 * for a file name (lowercase, `[a-z0-9-]`, at most 16 characters), or the last 7 characters of
 * its id when it has no usable name.
 */
export function conflictLabel (device: string, name: string | undefined): string {
  const safe = (name ?? '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+/, '').slice(0, MAX_CONFLICT_LABEL_CHARS).replace(/-+$/, '')
  return safe === '' ? shortDeviceId(device) : safe
}

/**
 * The name under which a losing concurrent version is kept:
 * `dir/name.sync-conflict-YYYYMMDD-HHMMSS-<label>.ext`, `label` being the author's name as
 * `conflictLabel` makes it (default: the last 7 characters of its id). It depends only on the
 * losing version (its mtime and author), so devices that keep it usually pick the same name (the
 * planner appends another conflict suffix when the name is taken by other content).
 */
export function conflictPath (path: string, mtimeMs: number, modifiedBy: string, label: string = shortDeviceId(modifiedBy)): string {
  const slash = path.lastIndexOf('/')
  const dir = path.slice(0, slash + 1)
  const base = path.slice(slash + 1)
  const dot = base.lastIndexOf('.')
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, '']
  const t = new Date(mtimeMs)
  const p2 = (n: number): string => String(n).padStart(2, '0')
  const stamp = `${t.getUTCFullYear()}${p2(t.getUTCMonth() + 1)}${p2(t.getUTCDate())}-${p2(t.getUTCHours())}${p2(t.getUTCMinutes())}${p2(t.getUTCSeconds())}`
  return `${dir}${stem}.sync-conflict-${stamp}-${label}${ext}`
}

/** Ed25519 peer ids all start with `12D3KooW`; the tail tells devices apart. */
export function shortDeviceId (device: string): string {
  return device.slice(-7)
}

export function isConflictCopy (path: string): boolean {
  return /\.sync-conflict-\d{8}-\d{6}-[^/.]+(\.[^/]*)?$/.test(path)
}

const CONFLICT_NAME = /^(.*)\.sync-conflict-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-([^/.]+)((?:\.[^/]*)?)$/

/**
 * What a conflict copy's name says: the path it was kept beside, the losing version's mtime
 * (second resolution, UTC) and its author's label (a short id, or a name: `conflictLabel`). Undefined for other names.
 */
export function parseConflictPath (path: string): { original: string, timeMs: number, shortDevice: string } | undefined {
  const slash = path.lastIndexOf('/')
  const m = CONFLICT_NAME.exec(path.slice(slash + 1))
  if (m === null) return undefined
  const [, stem, y, mo, d, h, mi, s, device, ext] = m
  const timeMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  return { original: `${path.slice(0, slash + 1)}${stem!}${ext ?? ''}`, timeMs, shortDevice: device! }
}
