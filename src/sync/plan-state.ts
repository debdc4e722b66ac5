import type { FileRecord } from '../model/file-record.ts'
import type { IgnoreRules } from '../ignore/ignore-rules.ts'
import { parentPath } from '../model/paths.ts'
import { planPath, sortActions, type Action, type DeviceLabel, type PlanLookup } from './planner.ts'
import { PathTree } from './path-tree.ts'
import { StateSummary } from './state-summary.ts'

export interface PlanStateComponents {
  /** every path any device has a record of */
  paths: () => Iterable<string>
  own: (path: string) => FileRecord | undefined
  /** the records of devices that may change the folder */
  remoteOf: (path: string) => FileRecord[]
  /** ignored paths are never planned */
  isIgnored: (path: string) => boolean
  /** nothing is planned for `path` any more */
  onUnplanned?: (path: string) => void
  /** how conflict copies name a device (default: the last 7 characters of its id) */
  deviceLabel?: DeviceLabel
}

/**
 * The planner's current decision per path, decided again only for paths that changed (`dirty`),
 * and what our own records add up to (StateSummary), kept per path as decisions are refreshed.
 * Plain state: no timers, no disk, no network.
 */
export class PlanState {
  private readonly c: PlanStateComponents
  private readonly planned = new Map<string, Action>()
  private readonly dirty = new Set<string>()
  private allDirty = true
  private sorted?: Action[]
  /** record paths by directory: a change below a path can change the decision for it */
  private readonly tree = new PathTree()
  readonly summary = new StateSummary()

  constructor (components: PlanStateComponents) {
    this.c = components
  }

  /** `path` must be decided again */
  markDirty (path: string): void {
    this.dirty.add(path)
    this.sorted = undefined
  }

  /** every path must be decided again (who may change the folder, or the ignore rules, changed) */
  markAllDirty (): void {
    this.allDirty = true
    this.sorted = undefined
  }

  /** actions planned (after a refresh) */
  get size (): number { this.refresh(); return this.planned.size }

  /** The actions for the whole folder, in the planner's order. */
  current (): Action[] {
    this.refresh()
    this.sorted ??= sortActions([...this.planned.values()])
    return this.sorted
  }

  /** What is still to do, without sorting: cheap enough to poll. */
  need (): { needFiles: number, needBytes: number } {
    this.refresh()
    let needBytes = 0
    let needFiles = 0
    for (const a of this.planned.values()) {
      if (a.kind === 'adopt') continue
      needFiles++
      if (a.kind === 'fetch' || a.kind === 'conflict') needBytes += a.record.size
    }
    return { needFiles, needBytes }
  }

  /** Decides the paths that changed since the last call. */
  refresh (): void {
    if (this.allDirty) {
      this.allDirty = false
      for (const p of this.c.paths()) this.dirty.add(p)
    }
    if (this.dirty.size === 0) return
    // a change below a path can change the decision for it (a type conflict): its ancestors
    // are decided again too
    for (const p of [...this.dirty]) {
      this.tree.add(p)
      for (let a = parentPath(p); a !== '' && !this.dirty.has(a); a = parentPath(a)) this.dirty.add(a)
    }
    const lookup: PlanLookup = {
      local: { get: p => this.c.own(p) },
      remote: { get: p => this.c.remoteOf(p) },
      children: p => this.tree.children(p),
      ...(this.c.deviceLabel === undefined ? {} : { deviceLabel: this.c.deviceLabel })
    }
    for (const p of this.dirty) {
      const a = this.c.isIgnored(p) ? undefined : planPath(p, lookup)
      if (a === undefined) {
        this.planned.delete(p)
        this.c.onUnplanned?.(p)
      } else {
        this.planned.set(p, a)
      }
      this.summary.update(p, this.c.own(p))
    }
    this.dirty.clear()
    this.sorted = undefined
  }
}

/** Ignored paths are left alone both ways: a peer's version of one is not applied here. */
export function ignoresRecordPath (ignore: Pick<IgnoreRules, 'active' | 'ignores'>, records: { own: (path: string) => FileRecord | undefined, remoteOf: (path: string) => FileRecord[] }, path: string): boolean {
  if (!ignore.active) return false
  const isDir = records.own(path)?.type === 'dir' || records.remoteOf(path).some(r => r.type === 'dir')
  return ignore.ignores(path, isDir)
}
