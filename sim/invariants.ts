import { lstat, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { INTERNAL_DIR } from '../src/model/paths.ts'
import { TRASH_DIR } from '../src/history/trash.ts'

/** A folder as the user sees it: path -> file content, or DIR for a directory (`.ferry` left out). */
export type Tree = Map<string, string>
export const DIR = '<dir>'

/** a version the user wrote and did not delete or overwrite on the same device afterwards */
export interface UserWrite { device: number, path: string, content: string }

export async function readTree (root: string, under = ''): Promise<Tree> {
  const tree: Tree = new Map()
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(root, rel), { withFileTypes: true }).catch(() => [])
    for (const e of entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`
      if (under === '' && path === INTERNAL_DIR) continue
      if (e.isDirectory()) {
        tree.set(path, DIR)
        await walk(path)
      } else if (e.isFile()) {
        tree.set(path, await readFile(join(root, path), 'utf8'))
      } else {
        tree.set(path, `<${(await lstat(join(root, path))).mode.toString(8)}>`)
      }
    }
  }
  await walk(under)
  return tree
}

/** every file's content in the folder's trash (what replaced and deleted versions became) */
export async function trashContents (root: string): Promise<Set<string>> {
  const tree = await readTree(root, TRASH_DIR)
  return new Set([...tree.values()].filter(c => c !== DIR))
}

/** Paths where two trees differ, with both sides (at most `max`). */
export function diffTrees (a: Tree, b: Tree, max = 20): string[] {
  const out: string[] = []
  for (const p of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(p) !== b.get(p)) out.push(`${p}: ${show(a.get(p))} | ${show(b.get(p))}`)
    if (out.length >= max) break
  }
  return out
}

function show (c: string | undefined): string {
  return c === undefined ? '<absent>' : JSON.stringify(c.split('\n')[0])
}

export interface InvariantInput {
  trees: Tree[]
  /** trash contents per device */
  trash: Array<Set<string>>
  writes: readonly UserWrite[]
  /** what the run directory holds outside the devices' homes and folders (must be nothing) */
  strayPaths: readonly string[]
}

/**
 * After quiescence: (1) every device's folder is byte-identical to device 0's; (2) no user
 * write is lost: each version still standing as a user's last write at its path is present in
 * the folder (at its path, a conflict copy, or wherever a rename took it) or in some device's
 * trash; (3) nothing was written in the run directory outside the devices' homes and folders.
 * Returns the violations, one line each (empty: all hold).
 */
export function checkInvariants (input: InvariantInput): string[] {
  const problems: string[] = []
  const [first, ...rest] = input.trees
  if (first === undefined) return ['no devices']
  rest.forEach((t, i) => {
    const diff = diffTrees(first, t)
    if (diff.length > 0) problems.push(`d0 and d${i + 1} differ (d0 | d${i + 1}):\n    ${diff.join('\n    ')}`)
  })
  const present = new Set([...first.values()])
  for (const w of input.writes) {
    if (present.has(w.content)) continue
    if (input.trash.some(t => t.has(w.content))) continue
    problems.push(`lost: d${w.device} wrote ${w.path} (${show(w.content)}): not in the folder nor in any trash`)
  }
  for (const p of input.strayPaths) problems.push(`written outside the folders: ${p}`)
  return problems
}
