import { describe, expect, it } from 'vitest'
import { lstat, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import type { BlockRef, FileRecord } from '../../src/model/file-record.ts'
import { AsyncLock } from '../../src/store/async-lock.ts'
import type { LocalChange } from '../../src/store/local-index.ts'
import { IgnoreRules } from '../../src/ignore/ignore-rules.ts'
import { InstallQueue, type ApplierComponents } from '../../src/sync/file-applier.ts'
import { adoptChange } from '../../src/sync/applier-components.ts'
import { runSyncPass } from '../../src/sync/sync-pass.ts'
import { runScanPass } from '../../src/sync/scan-pass.ts'
import { PathErrors } from '../../src/sync/path-errors.ts'
import { RetryBackoff } from '../../src/sync/retry-backoff.ts'
import { prepareTempArea } from '../../src/sync/temp-area.ts'
import { sortActions, type Action } from '../../src/sync/planner.ts'
import { FolderTrash } from '../../src/history/folder-trash.ts'
import { fileRecordOf } from '../helpers/synthetic-records.ts'
import { put, randomBytes, root, scan, store, useScannerFixture } from '../helpers/scanner-fixture.ts'

// The scanner and the applier meet only at the disk lock. A file the applier removes or moves
// away is not a delete of ours: a scan that sees it gone meanwhile must hand the delete guard
// nothing (it would keep the folder busy for the settle time, and, were the applier's record
// never written, turn the applier's own move into a local delete).
useScannerFixture()

const PEER = '12D3KooWPeerPeerPeerPeerPeerPeerPeerPeerPeerPeerPeer'

/** a peer's version of `path` (its counter `seq`, after ours) */
function peerVersion (path: string, blocks: readonly BlockRef[], seq: number, fields: Partial<FileRecord> = {}): FileRecord {
  return fileRecordOf(blocks, { folder: 'test', device: PEER, seq, path, mode: 0o644, mtimeMs: 1_700_000_500_000, version: { ...store.own(path)?.version, [PEER]: seq }, ...fields })
}

/** a scan pass over `paths` (what the watcher reported): the tombstones it hands the delete guard */
async function scanPass (diskLock: AsyncLock, paths: string[], ignore = new IgnoreRules()): Promise<string[]> {
  const handed: LocalChange[] = []
  await runScanPass({
    folder: 'test',
    root,
    store,
    log: logger('test:scan'),
    ignore,
    diskLock,
    errors: new PathErrors(),
    reinstalling: new Set(),
    addTombstones: changes => handed.push(...changes),
    invalidatePlan: () => {},
    retryLater: () => {},
    signal: new AbortController().signal
  }, { full: false, paths: new Set(paths) })
  return handed.map(c => c.path)
}

describe('a scan while the applier changes the disk', () => {
  it('the source of a rename, moved into the new name\'s temp file, is not handed to the delete guard', async () => {
    const content = randomBytes(200 * 1024, 11)
    await put('old.bin', content)
    await put('mine.txt', randomBytes(4 * 1024, 13))
    await scan()
    const blocks = store.own('old.bin')!.blocks
    await prepareTempArea(root)
    const diskLock = new AsyncLock()
    const base = { root, store, diskLock, fetchBlocks: async () => { throw new Error('a rename fetches nothing') }, log: logger('test:applier'), trash: new FolderTrash({ root, store }) }
    const queue = new InstallQueue(base)
    // the watcher reports the old name gone, and its scan runs, while the new name is assembled;
    // meanwhile the user deletes a file of their own
    const seen: string[][] = []
    const installs: ApplierComponents['installs'] = {
      install: async item => {
        await rm(join(root, 'mine.txt'))
        seen.push(await scanPass(diskLock, ['old.bin', 'new.bin', 'mine.txt']))
        await queue.install(item)
      }
    }
    const deleted = peerVersion('old.bin', [], 2, { deleted: true, size: 0 })
    const actions: Action[] = sortActions([
      { kind: 'delete', path: 'old.bin', record: deleted },
      { kind: 'fetch', path: 'new.bin', record: peerVersion('new.bin', blocks, 3) }
    ])
    const backoff = new RetryBackoff(1000, 60_000)
    const applied: string[] = []
    try {
      const result = await runSyncPass({
        folder: 'test',
        store,
        log: logger('test:pass'),
        applier: { ...base, installs },
        errors: new PathErrors(),
        backoff,
        markDirty: () => {},
        requestScan: () => {},
        onEvent: e => { if (e.type === 'file.applied') applied.push(`${e.detail.action} ${e.detail.path}`) },
        signal: new AbortController().signal
      }, actions)
      expect(result).toEqual({ failed: false, stale: false })
    } finally {
      backoff.stop()
    }
    // the scan found the old name gone, and no delete of ours in it; the user's delete it passes on
    expect(seen).toEqual([['mine.txt']])
    expect(applied.sort()).toEqual(['delete old.bin', 'fetch new.bin'])
    expect(new Uint8Array(await readFile(join(root, 'new.bin')))).toEqual(content)
    await expect(lstat(join(root, 'old.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
    // our record of the old name adopts the peer's delete (no version of our own)
    expect(store.own('old.bin')).toMatchObject({ deleted: true, modifiedBy: PEER, version: deleted.version })
    expect(store.own('new.bin')).toMatchObject({ deleted: false, modifiedBy: PEER })
    // and later scans see what the user does to the new name
    expect(await scanPass(diskLock, ['old.bin', 'new.bin'])).toEqual([])
    await rm(join(root, 'new.bin'))
    expect(await scanPass(diskLock, ['old.bin', 'new.bin'])).toEqual(['new.bin'])
  })

  it('a delete the applier records while the scan looks is not handed to the delete guard', async () => {
    await put('gone.txt', randomBytes(4 * 1024, 12))
    await scan()
    const diskLock = new AsyncLock()
    const looked = Promise.withResolvers<void>()
    // (the scanner asks the ignore rules about a path right after it looked at the disk)
    const ignore = new class extends IgnoreRules {
      override ignores (path: string, isDir: boolean): boolean {
        if (path === 'gone.txt') looked.resolve()
        return super.ignores(path, isDir)
      }
    }()
    let scanning: Promise<string[]> | undefined
    // the applier's "check, change, record" under the disk lock, with the scan looking in between
    await diskLock.run(async () => {
      await rm(join(root, 'gone.txt'))
      scanning = scanPass(diskLock, ['gone.txt'], ignore)
      await looked.promise
      await store.commitLocal([adoptChange(peerVersion('gone.txt', [], 2, { deleted: true, size: 0 }), null)])
    })
    expect(await scanning).toEqual([])
    expect(store.own('gone.txt')).toMatchObject({ deleted: true, modifiedBy: PEER })
  })

})
