import { contentKey, type FileRecord } from '../model/file-record.ts'
import { IGNORE_FILE } from '../ignore/ignore-rules.ts'
import type { Action } from './planner.ts'
import type { RenameSource } from './applier-components.ts'

// What one sync pass does, decided from the plan and our records alone (no disk, no timers):
// which actions run now, in which phases, and which deletes are the sources of renames.

export interface PassChoice {
  /** the actions this pass runs (empty: all wait for their retry) */
  actions: Action[]
  /** the plan's `.ferryignore` action, if any */
  rules?: Action
  /** only the rules file runs in this pass; the rest wait for the next one */
  rulesFirst: boolean
  /** some actions wait for their retry delay */
  deferred: boolean
}

export interface PassChoiceOptions {
  /** the rules file failed when it ran alone last time: it no longer goes first */
  rulesFirstFailed: boolean
  /** false while a failing action on `path` waits for its retry (retry-backoff.ts) */
  ready: (path: string) => boolean
}

/**
 * New ignore rules from a peer apply before anything else is installed under the old ones
 * (unless that failed last time: the rules file must not hold up the folder); actions that
 * failed lately wait their turn.
 */
export function choosePass (plan: readonly Action[], o: PassChoiceOptions): PassChoice {
  let actions = [...plan]
  const rules = actions.find(a => a.path === IGNORE_FILE)
  const rulesFirst = rules !== undefined && actions.length > 1 && !o.rulesFirstFailed
  if (rulesFirst) actions = [rules]
  const deferred = actions.some(a => !o.ready(a.path))
  if (deferred) actions = actions.filter(a => o.ready(a.path))
  return { actions, ...(rules === undefined ? {} : { rules }), rulesFirst, deferred }
}

/**
 * Phases keep the planner's order: runs of the same kind of action run at once, except
 * deletions (one by one, deep first) and directories (parents first).
 */
export function phasesOf (actions: readonly Action[]): Action[][] {
  const phases: Action[][] = []
  for (const a of actions) {
    const last = phases.at(-1)
    if (last !== undefined && last[0]!.kind === a.kind && a.kind !== 'delete' && a.kind !== 'mkdir' && a.kind !== 'dir-over-file') last.push(a)
    else phases.push([a])
  }
  return phases
}

/**
 * Files this pass deletes, by content: a fetch of the same content is a rename, and moves the
 * deleted file instead of copying it (each claimed once, with the seq of our record it was
 * planned against and the peer's delete, which the move records: temp-reuse.ts).
 */
export class RenameSources {
  private readonly byContent = new Map<string, RenameSource[]>()

  constructor (actions: readonly Action[], own: (path: string) => FileRecord | undefined) {
    for (const a of actions) {
      const r = own(a.path)
      if (a.kind !== 'delete' || !a.record.deleted || r === undefined || r.deleted || r.type !== 'file' || r.size === 0) continue
      const key = contentKey(r)
      this.byContent.set(key, [...(this.byContent.get(key) ?? []), { path: a.path, base: r.seq, deleted: a.record }])
    }
  }

  claim (record: FileRecord): RenameSource | undefined {
    return this.byContent.get(contentKey(record))?.shift()
  }
}

/** the paths whose decision an action touched: decided again after it ran, whatever happened */
export function touchedPaths (a: Action): string[] {
  // a conflict copy also changes what holds its name
  if ((a.kind === 'conflict' || a.kind === 'dir-over-file') && a.conflictPath !== undefined) return [a.path, a.conflictPath]
  return [a.path]
}
