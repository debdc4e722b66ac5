import { parentPath } from '../model/paths.ts'

/**
 * Which paths lie directly below a directory path, among the paths a folder's records name
 * (intermediate directories without a record of their own included). The planner asks it
 * whether anything live lies below a path whose winner is a file (a type conflict).
 * Paths are only added: a tombstone keeps its path. The top level's paths are the children of ''.
 */
export class PathTree {
  private readonly kids = new Map<string, Set<string>>()

  add (path: string): void {
    for (let p = path; ;) {
      const parent = parentPath(p)
      let set = this.kids.get(parent)
      if (set === undefined) {
        set = new Set()
        this.kids.set(parent, set)
      }
      if (set.has(p)) return
      set.add(p)
      if (parent === '') return
      p = parent
    }
  }

  children (dir: string): Iterable<string> {
    return this.kids.get(dir) ?? []
  }
}
