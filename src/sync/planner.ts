import { compareVersions, mergeVersions } from '../model/version-vector.ts'
import { contentKey, type FileRecord } from '../model/file-record.ts'
import { parentPath, pathDepth } from '../model/paths.ts'
import { conflictPath, parseConflictPath, shortDeviceId } from './conflict-name.ts'
import { PathTree } from './path-tree.ts'

/**
 * The sync decision, as a pure function: this device's own records and the newest records of
 * every other device in, actions out. No I/O; the executor performs the actions.
 *
 * Rules (Syncthing's, made explicit):
 * - The global version of a path is the maximal record by version vector. Among concurrent
 *   maximal records, the winner is: a live entry over a deletion, then the newer mtime, then
 *   the larger `modifiedBy` device id. Every device computes the same winner.
 * - A local version dominated by any known record is simply replaced by the winner.
 * - A local version that is maximal but loses to a concurrent winner with different content is
 *   kept as a conflict copy (a new file, see conflict-name.ts) before the winner replaces it.
 *   Concurrent versions with equal content are not a conflict: the winner is adopted under the
 *   merge of both vectors, so the local version stays known: a change made later by a device
 *   that never saw it is concurrent with it (and keeps it), not a silent replacement.
 * - Type conflicts: a file cannot stand where live entries lie below its path (one device
 *   replaced a directory by a file while another changed something in it). The directory wins:
 *   a device holding a live file there keeps it under a conflict name (if its version is not
 *   superseded) and makes the path a directory as a new version, which supersedes the file
 *   everywhere; devices without such a file wait for that. A local file that loses to a
 *   concurrent directory is kept as a conflict copy too. So no data is lost either way.
 */

export type Action =
  /** create the directory described by `record` */
  | { kind: 'mkdir', path: string, record: FileRecord }
  /** make the local file equal to `record` (copy local blocks, fetch the rest) */
  | { kind: 'fetch', path: string, record: FileRecord }
  /** move the local version to `conflictPath` (as a new version of ours), then fetch `record` */
  | { kind: 'conflict', path: string, record: FileRecord, conflictPath: string, local: FileRecord }
  /** local content already equals `record`: take over its version (and mtime) only; for a concurrent
   *  local version, `record.version` is already the merge of both */
  | { kind: 'adopt', path: string, record: FileRecord }
  /** remove the local file or (empty) directory; `record` is the winning tombstone */
  | { kind: 'delete', path: string, record: FileRecord }
  /**
   * a type conflict: the local file `local` stands where live entries lie below; move it to
   * `conflictPath` (undefined: not kept here, it is superseded or already kept under that name)
   * and make `path` a directory, as new versions of ours
   */
  | { kind: 'dir-over-file', path: string, local: FileRecord, conflictPath?: string }

export interface PlanInput {
  /** this device's newest record per path, tombstones included */
  readonly local: ReadonlyMap<string, FileRecord>
  /** every other device's newest record per path */
  readonly remote: ReadonlyMap<string, readonly FileRecord[]>
  /** how conflict copies name a device (default: the last 7 characters of its id) */
  readonly deviceLabel?: DeviceLabel
}

/** Deterministic order of concurrent candidates; positive when a beats b. */
export function preferOver (a: FileRecord, b: FileRecord): number {
  if (a.deleted !== b.deleted) return a.deleted ? -1 : 1
  if (a.mtimeMs !== b.mtimeMs) return a.mtimeMs - b.mtimeMs
  if (a.modifiedBy !== b.modifiedBy) return a.modifiedBy > b.modifiedBy ? 1 : -1
  return contentKey(a) > contentKey(b) ? 1 : contentKey(a) < contentKey(b) ? -1 : 0
}

/** Records not dominated by any other candidate (equal versions collapse to one). */
export function maximalRecords (candidates: readonly FileRecord[]): FileRecord[] {
  const out: FileRecord[] = []
  for (const c of candidates) {
    let keep = true
    for (let i = 0; i < out.length; i++) {
      const o = compareVersions(c.version, out[i]!.version)
      if (o === 'lesser' || o === 'equal') { keep = false; break }
      if (o === 'greater') { out.splice(i, 1); i-- }
    }
    if (keep) out.push(c)
  }
  return out
}

/** The global version of one path among all devices' records. */
export function globalWinner (candidates: readonly FileRecord[]): FileRecord | undefined {
  let best: FileRecord | undefined
  for (const r of maximalRecords(candidates)) {
    if (best === undefined || preferOver(r, best) > 0) best = r
  }
  return best
}

/** What a device knows to be at a path: nothing live, `r`'s content, or some other content. */
type Holder = 'free' | 'same' | 'other'

/** The first free conflict name for `local` at `path`, or undefined when it is kept already. */
function keepAsFor (path: string, local: FileRecord, holder: (p: string, r: FileRecord) => Holder, label: DeviceLabel, siblings: (p: string) => Iterable<string>): string | undefined {
  // kept already under the name another device chose (by id, or by the name it gives the author:
  // devices name one author differently, and the author names itself by id)
  const byId = conflictPath(path, local.mtimeMs, local.modifiedBy)
  if (holder(byId, local) === 'same') return undefined
  for (const s of siblings(path)) {
    if (s !== path && isCopyOf(s, path) && holder(s, local) === 'same') return undefined
  }
  const name = label(local.modifiedBy)
  // Names have one-second resolution, so two versions by one device within a second share one.
  // When other content already holds the name, the conflict name of that name is next, and so
  // on: a conflict copy never replaces another.
  for (let keepAs = conflictPath(path, local.mtimeMs, local.modifiedBy, name); ; keepAs = conflictPath(keepAs, local.mtimeMs, local.modifiedBy, name)) {
    const held = holder(keepAs, local)
    // already kept under that name (by us or a peer that saw the same conflict): nothing to keep
    if (held === 'same') return undefined
    if (held === 'free') return keepAs
  }
}

/** true when `copy` is a conflict copy of `path` (or a copy of such a copy, when names clashed) */
function isCopyOf (copy: string, path: string): boolean {
  for (let parsed = parseConflictPath(copy); parsed !== undefined; parsed = parseConflictPath(parsed.original)) {
    if (parsed.original === path) return true
  }
  return false
}

interface Lookups {
  holder: (p: string, r: FileRecord) => Holder
  liveBelow: (p: string) => boolean
  label: DeviceLabel
  /** the paths beside a path (in its directory), itself included */
  siblings: (p: string) => Iterable<string>
}

function decide (path: string, local: FileRecord | undefined, remote: readonly FileRecord[], { holder, liveBelow, label, siblings }: Lookups): Action | undefined {
  const candidates = local === undefined ? remote : [local, ...remote]
  const winner = globalWinner(candidates)
  if (winner === undefined) return undefined
  const create = (): Action => winner.type === 'dir'
    ? { kind: 'mkdir', path, record: winner }
    : { kind: 'fetch', path, record: winner }

  if (!winner.deleted && winner.type === 'file' && liveBelow(path)) {
    // a type conflict: the directory wins. Only a device with a live file here acts (it alone
    // may hold the file's content); the others keep their directory and wait for its new version.
    if (local === undefined || local.deleted || local.type !== 'file') return undefined
    const superseded = candidates.some(r => compareVersions(r.version, local.version) === 'greater')
    const keepAs = superseded ? undefined : keepAsFor(path, local, holder, label, siblings)
    return keepAs === undefined ? { kind: 'dir-over-file', path, local } : { kind: 'dir-over-file', path, local, conflictPath: keepAs }
  }

  if (local === undefined) return winner.deleted ? undefined : create()
  const order = compareVersions(local.version, winner.version)
  if (order === 'equal' || order === 'greater') return undefined
  if (contentKey(local) === contentKey(winner)) {
    // adopting the bare winner's vector would forget the local version, and a later change by a
    // device that never saw it would then replace it as if it had
    const record = order === 'concurrent' ? { ...winner, version: mergeVersions(local.version, winner.version) } : winner
    return { kind: 'adopt', path, record }
  }
  if (winner.deleted) return local.deleted ? { kind: 'adopt', path, record: winner } : { kind: 'delete', path, record: winner }

  const superseded = remote.some(r => compareVersions(r.version, local.version) === 'greater')
  // a losing concurrent file is kept, whether the winner is a file or a directory
  if (order === 'concurrent' && !superseded && !local.deleted && local.type === 'file') {
    const keepAs = keepAsFor(path, local, holder, label, siblings)
    if (keepAs !== undefined) return { kind: 'conflict', path, record: winner, conflictPath: keepAs, local }
  }
  return create()
}

/** What the planner reads: lookups by path (maps, or live views of a store). */
export interface PlanLookup {
  readonly local: { get: (path: string) => FileRecord | undefined }
  readonly remote: { get: (path: string) => readonly FileRecord[] | undefined }
  /** the paths directly below a path that have records (or records below them); none if absent */
  readonly children?: (path: string) => Iterable<string>
  /** how conflict copies name a device (default: the last 7 characters of its id) */
  readonly deviceLabel?: DeviceLabel
}

/** the part of a conflict copy's name that names a device (conflict-name.ts `conflictLabel`) */
export type DeviceLabel = (device: string) => string
const byShortId: DeviceLabel = device => shortDeviceId(device)

/** True when some path below `path` has a live global version (records of `input`). */
function liveBelowOf (input: PlanLookup): (path: string) => boolean {
  const children = input.children
  if (children === undefined) return () => false
  return path => {
    const stack = [...children(path)]
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      const own = input.local.get(p)
      const remote = input.remote.get(p) ?? []
      const w = globalWinner(own === undefined ? remote : [own, ...remote])
      if (w !== undefined && !w.deleted) return true
      for (const c of children(p)) stack.push(c)
    }
    return false
  }
}

function holderOf (input: PlanLookup): (p: string, r: FileRecord) => Holder {
  return (p, r) => {
    let held: Holder = 'free'
    for (const o of [input.local.get(p), ...(input.remote.get(p) ?? [])]) {
      if (o === undefined || o.deleted) continue
      if (contentKey(o) === contentKey(r)) return 'same'
      held = 'other'
    }
    return held
  }
}

/** The decision for one path (undefined: nothing to do). `plan` is this over every path, sorted. */
export function planPath (path: string, input: PlanLookup): Action | undefined {
  const children = input.children
  return decide(path, input.local.get(path), input.remote.get(path) ?? [], {
    holder: holderOf(input),
    liveBelow: liveBelowOf(input),
    label: input.deviceLabel ?? byShortId,
    siblings: children === undefined ? () => [] : p => children(parentPath(p))
  })
}

/** Plans every path; actions come ordered so that executing them in order is safe. */
export function plan (input: PlanInput): Action[] {
  const paths = new Set<string>([...input.local.keys(), ...input.remote.keys()])
  const tree = new PathTree()
  for (const p of paths) tree.add(p)
  const holder = holderOf(input)
  const liveBelow = liveBelowOf({ local: input.local, remote: input.remote, children: p => tree.children(p) })
  const lookups: Lookups = { holder, liveBelow, label: input.deviceLabel ?? byShortId, siblings: p => tree.children(parentPath(p)) }
  const actions: Action[] = []
  for (const path of paths) {
    const a = decide(path, input.local.get(path), input.remote.get(path) ?? [], lookups)
    if (a !== undefined) actions.push(a)
  }
  return sortActions(actions)
}

/** Orders actions so that executing them in order is safe (see compareActions). */
export function sortActions (actions: Action[]): Action[] {
  return actions.sort(compareActions)
}

const PHASE: Record<Action['kind'], number> = { mkdir: 0, 'dir-over-file': 0, conflict: 1, fetch: 2, adopt: 3, delete: 4 }

/**
 * Directories first (shallow before deep; a file turned into a directory among them), then content (so renamed files can still be copied
 * from their old place), then deletions (files before the directories that held them: deep first).
 */
function compareActions (a: Action, b: Action): number {
  if (PHASE[a.kind] !== PHASE[b.kind]) return PHASE[a.kind] - PHASE[b.kind]
  const da = pathDepth(a.path)
  const db = pathDepth(b.path)
  if (a.kind === 'delete' && b.kind === 'delete') {
    if (a.record.type !== b.record.type) return a.record.type === 'file' ? -1 : 1
    return db - da || (a.path < b.path ? -1 : 1)
  }
  return da - db || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}
