import type { Logger } from '@libp2p/logger'
import type { FolderStore } from '../store/folder-store.ts'
import type { LocalChange } from '../store/local-index.ts'
import { IGNORE_FILE, type IgnoreRules } from '../ignore/ignore-rules.ts'
import { scanFolder } from '../scanner/scan-folder.ts'
import type { AsyncLock } from '../store/async-lock.ts'
import { FolderStoppedError } from './folder-health.ts'
import type { PathErrors } from './path-errors.ts'
import type { FolderEvent } from './folder-events.ts'

export interface ScanPassComponents {
  folder: string
  root: string
  store: FolderStore
  log: Logger
  ignore: IgnoreRules
  diskLock: AsyncLock
  errors: PathErrors
  /** paths `ferry revert` is bringing back: their tombstones are dropped */
  reinstalling: ReadonlySet<string>
  /** the scanner's tombstones: they wait for the guard's settle time and mass-delete protection */
  addTombstones: (changes: LocalChange[]) => void
  /** the ignore rules changed: every decision again */
  invalidatePlan: () => void
  /** look again a little later: these paths, or (undefined) the whole folder */
  retryLater: (paths?: string[]) => void
  onEvent?: (e: FolderEvent) => void
  signal: AbortSignal
}

/**
 * One pass of the scan loop: the folder (or the paths asked for) walked and what changed
 * committed under the disk lock. Returns whether it was a full walk (undefined: the folder
 * stopped meanwhile).
 */
export async function runScanPass (c: ScanPassComponents, request: { full: boolean, paths: Set<string> }): Promise<boolean | undefined> {
  const started = Date.now()
  let full = request.full
  const paths = request.paths
  try {
    if ((full || paths.has(IGNORE_FILE)) && await c.ignore.reload(c.root)) {
      // other rules: every decision again, and a full walk for paths no longer ignored
      c.invalidatePlan()
      full = true
    }
    const tombstones: LocalChange[] = []
    const result = await scanFolder({
      ...(full ? {} : { paths }),
      onTombstone: change => { if (!c.reinstalling.has(change.path)) tombstones.push(change) },
      ignored: (p, isDir) => c.ignore.ignores(p, isDir),
      root: c.root,
      store: c.store,
      log: c.log,
      signal: c.signal,
      commit: async changes => {
        const done = await c.diskLock.run(async () => await c.store.commitLocal(changes))
        // a change the applier overtook: look again once the dust settles
        if (done.length < changes.length) c.retryLater()
        return done.length
      }
    })
    // every delete waits for the guard's settle time and mass-delete protection; one the applier
    // overtook is none of ours (it removed or moved the file and recorded that under the disk
    // lock while this scan looked): only those still made from our current record go there
    if (tombstones.length > 0) {
      await c.diskLock.run(async () => { c.addTombstones(tombstones.filter(t => (c.store.own(t.path)?.seq ?? 0) === t.base)) })
    }
    c.errors.scanned(result.problems, result.looked)
    if (result.unstable.length > 0) c.retryLater(result.unstable)
    c.log('%s: %s scan: %d files, %d changed, %d unstable', c.folder, full ? 'full' : `partial (${paths.size} paths)`, result.files, result.changed, result.unstable.length)
    if (result.changed > 0) c.onEvent?.({ type: 'folder.scanned', detail: { folder: c.folder, changed: result.changed, files: result.files, ms: Date.now() - started } })
    return full
  } catch (err) {
    if (!(err instanceof FolderStoppedError)) throw err // (the guard stopped the folder and said why)
    return undefined
  }
}
