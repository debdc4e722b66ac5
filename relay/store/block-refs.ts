import type { ClassicLevel } from 'classic-level'
import type { CID } from 'multiformats/cid'
import { cidKey } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { decodeStoredRecord } from '../../src/log/signed-record.ts'
import type { RecordLog } from '../../src/store/record-log.ts'

/** the key that says the index was built from the records (a store from before it is indexed once) */
const BUILT_KEY = '~built'

/**
 * Which folders hold each block (`refs` sublevel: `<cid> <folder>` -> ''): a folder holds a
 * block its records or kept history reference, or that one of its writers uploaded into it. A
 * block is served, and reported as held, to a folder only if the folder holds it: members of
 * one folder learn nothing of another's blocks. Entries of blocks deleted later stay (they
 * only let a folder's members ask again for a block that was theirs); the store is checked too.
 */
export class BlockRefs {
  private readonly db

  constructor (db: ClassicLevel<string, Uint8Array>) {
    this.db = db.sublevel<string, string>('refs', { valueEncoding: 'utf8' })
  }

  /** Indexes every folder's records once (a store written before the index existed). */
  async build (folders: ReadonlyArray<{ id: string, log: RecordLog }>): Promise<void> {
    if (await this.db.get(BUILT_KEY) !== undefined) return
    for (const f of folders) {
      const add = async (record: FileRecord): Promise<void> => { await this.add(f.id, record.blocks.map(b => b.cid)) }
      for await (const stored of f.log.storedRecords()) await add(decodeStoredRecord(stored.envelope()).record)
      for await (const h of f.log.allHistory()) await add(h.record)
    }
    await this.db.put(BUILT_KEY, '', { sync: true } as Record<string, unknown>)
  }

  /**
   * `sync`: on disk before it resolves. The refs of the blocks a folder's records name are
   * written so (before the records): a relay that crashed must still serve every block of a
   * record it keeps (recovery from the relay alone reads nothing else). A block's own ref, added
   * as it arrives, need not be: its record, which follows, adds it again.
   */
  async add (folder: string, cids: readonly CID[], opts: { sync?: boolean } = {}): Promise<void> {
    if (cids.length === 0) return
    await this.db.batch(cids.map(c => ({ type: 'put' as const, key: `${cidKey(c)} ${folder}`, value: '' })), { sync: opts.sync === true } as Record<string, unknown>)
  }

  async has (folder: string, cid: CID): Promise<boolean> {
    return await this.db.get(`${cidKey(cid)} ${folder}`) !== undefined
  }
}
