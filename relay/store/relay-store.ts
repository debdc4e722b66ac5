import { join } from 'node:path'
import { stat } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import type { CID } from 'multiformats/cid'
import { RecordLog, type HistoryEntry } from '../../src/store/record-log.ts'
import { folderSublevel } from '../../src/store/keys.ts'
import type { SignedRecord } from '../../src/log/signed-record.ts'
import { AsyncLock } from '../../src/store/async-lock.ts'
import { FerryError } from '../../src/errors.ts'
import { BlockStore } from './block-store.ts'
import { ERR_SEALED_FOLDER, ReplicaRefusal, type ReplicaFolder } from '../../protocols/replica/index.ts'
import { referencedBlocks, type SealMigration } from './seal-migration.ts'
import { SegmentIndexes } from '../../protocols/index/index.ts'
import { openMemberList, type MemberRole, type SignedMemberList } from '../../src/access/member-list.ts'
import { afterUpdate, judgeMemberList, MemberListRefusedError, ERR_NOT_MEMBER, type HeldMembers } from './member-lists.ts'
import { BlockRefs } from './block-refs.ts'
import { cidKey } from '../../src/hashing/block-cid.ts'
import { Quotas } from './quotas.ts'

/** Where a relay keeps its data inside --home. */
export const RELAY_DIR = 'relay'

export interface RelayFolder {
  id: string
  /** the folder's records (every device's newest per path, and history) */
  log: RecordLog
  /** the signed member list in force; undefined: a folder stored before member lists (nobody reads it until one arrives) */
  held?: HeldMembers
  /** the devices of the list (a store from before member lists: those that uploaded, who may sign the first list) */
  members: Set<string>
  /** uploaded sealed (replica/3): the relay holds only ciphertext of it, and takes nothing else */
  sealed: boolean
}

/** how a member list is kept in the registry */
interface RegistryEntry {
  list?: { bytes: string, signature: string, signer: string }
  recoveryKey?: string
  /** a store from before member lists */
  members?: string[]
  /** uploaded sealed (replica/3) */
  sealed?: boolean
}

function registryEntry (held: HeldMembers | undefined, members: Iterable<string>, sealed: boolean): RegistryEntry {
  const entry: RegistryEntry = held === undefined
    ? { members: [...members].sort() }
    : { list: { bytes: b64(held.signed.bytes), signature: b64(held.signed.signature), signer: held.signed.signer } }
  if (held?.recoveryKey !== undefined) entry.recoveryKey = b64(held.recoveryKey)
  if (sealed) entry.sealed = true
  return entry
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))

/**
 * The relay's data: one level database (`relay/db`) with a registry of folders (`folders`
 * sublevel: id -> signed member list, relay/store/member-lists.ts) and one record log per folder (newest record per (device, path),
 * plus superseded records as history, in the same layout as on devices: src/store/keys.ts), and
 * a content-addressed BlockStore shared by all folders (`relay/blocks`). Every write is fsynced
 * before it is acknowledged.
 */
export class RelayStore {
  readonly home: string
  readonly blocks: BlockStore
  private readonly db: ClassicLevel<string, Uint8Array>
  private readonly registry
  /** folder -> its keyring sealed by a member under the folder's key (opaque here) */
  private readonly sealedKeyrings
  private readonly self: string
  private readonly folders = new Map<string, RelayFolder>()
  private readonly lock = new AsyncLock()
  /** block-list segments of each folder's records, for replica/2 sessions (one index per folder store) */
  private readonly segments = new SegmentIndexes()
  /** block bytes received since start (for status and tests) */
  receivedBlockBytes = 0
  receivedBlocks = 0
  /** which folders hold each block */
  readonly refs: BlockRefs
  /** storage per device */
  readonly quotas: Quotas
  /** told when a folder switched to sealed (what was dropped) */
  onSealed?: (m: SealMigration) => void

  /** `packBytes`: the size at which a pack of blocks is closed (tests: small, to see several) */
  constructor (opts: { home: string, self: string, quotaBytes?: number, packBytes?: number }) {
    this.home = opts.home
    this.self = opts.self
    this.db = new ClassicLevel<string, Uint8Array>(join(opts.home, RELAY_DIR, 'db'), { valueEncoding: 'view' })
    this.registry = this.db.sublevel<string, string>('folders', { valueEncoding: 'utf8' })
    this.sealedKeyrings = this.db.sublevel<string, Uint8Array>('sealed-keyrings', { valueEncoding: 'view' })
    this.blocks = new BlockStore(join(opts.home, RELAY_DIR, 'blocks'), this.db.sublevel<string, string>('packed', { valueEncoding: 'utf8' }), opts.packBytes === undefined ? {} : { packBytes: opts.packBytes })
    this.refs = new BlockRefs(this.db)
    this.quotas = new Quotas(this.db, opts.quotaBytes)
  }

  async open (): Promise<void> {
    try {
      await this.db.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') throw new FerryError(`the relay database in ${this.home} is in use by another ferry process`, 'ERR_FERRY_DB_LOCKED', 'stop the running relay first')
      throw err
    }
    await this.blocks.open()
    for await (const [id, value] of this.registry.iterator()) {
      const entry = JSON.parse(value) as RegistryEntry
      const sealed = entry.sealed === true
      if (entry.list === undefined) {
        await this.openFolder(id, new Set(entry.members ?? []), undefined, sealed)
        continue
      }
      const signed = await openMemberList(unb64(entry.list.bytes), unb64(entry.list.signature), entry.list.signer)
      await this.openFolder(id, new Set(Object.keys(signed.list.members)), entry.recoveryKey === undefined ? { signed } : { signed, recoveryKey: unb64(entry.recoveryKey) }, sealed)
    }
    await this.refs.build(this.list())
    await this.quotas.open()
  }

  async close (): Promise<void> {
    await this.blocks.close()
    await this.db.close()
  }

  private async openLog (id: string): Promise<RecordLog> {
    // the relay commits nothing of its own: the store's local index stays empty
    const log = new RecordLog({ db: folderSublevel(this.db, id), folder: id, self: this.self, syncWrites: true })
    await log.open()
    return log
  }

  private async openFolder (id: string, members: Set<string>, held: HeldMembers | undefined, sealed = false): Promise<RelayFolder> {
    const log = await this.openLog(id)
    const f: RelayFolder = held === undefined ? { id, log, members, sealed } : { id, log, members, held, sealed }
    this.folders.set(id, f)
    return f
  }

  folder (id: string): RelayFolder | undefined {
    return this.folders.get(id)
  }

  list (): RelayFolder[] {
    return [...this.folders.values()]
  }

  /** `device`'s role in `folder`'s member list; undefined for a non-member and for a folder the relay does not hold alike */
  roleOf (folder: string, device: string): MemberRole | undefined {
    const held = this.folders.get(folder)?.held
    return held === undefined ? undefined : held.signed.list.members[device]
  }

  /** the folder's sealed keyring as a member last stored it (null: none) */
  async sealedKeyring (folder: string): Promise<Uint8Array | null> {
    return (await this.sealedKeyrings.get(folder)) ?? null
  }

  async putSealedKeyring (folder: string, blob: Uint8Array): Promise<void> {
    await this.sealedKeyrings.put(folder, blob, { sync: true } as Record<string, unknown>)
  }

  isMember (folder: string, device: string): boolean {
    return this.roleOf(folder, device) !== undefined
  }

  isWriter (folder: string, device: string): boolean {
    return this.roleOf(folder, device) === 'write'
  }

  /** the list in force for `folder`, if `device` is in it (the same nothing for a non-member and an unknown folder) */
  memberList (folder: string, device: string): SignedMemberList | undefined {
    return this.isMember(folder, device) ? this.folders.get(folder)?.held?.signed : undefined
  }

  /**
   * Takes a member list (relay/store/member-lists.ts has the rules; `sender` sent it), creating
   * the folder on its first list, durably; MemberListRefusedError when refused.
   */
  async putMemberList (incoming: SignedMemberList, sender: string): Promise<void> {
    await this.lock.run(async () => {
      const id = incoming.list.folder
      const existing = this.folders.get(id)
      // a folder stored before member lists: only a device that uploaded to it may sign the first one
      if (existing !== undefined && existing.held === undefined && !existing.members.has(incoming.signer)) {
        throw new MemberListRefusedError(`${incoming.signer} may not change the members of folder ${id}`, ERR_NOT_MEMBER)
      }
      await judgeMemberList(existing?.held, incoming, sender)
      const held = afterUpdate(existing?.held, incoming)
      await this.registry.put(id, JSON.stringify(registryEntry(held, [], existing?.sealed === true)), { sync: true } as Record<string, unknown>)
      const members = new Set(Object.keys(incoming.list.members))
      if (existing === undefined) {
        await this.openFolder(id, members, held, false)
      } else {
        existing.held = held
        existing.members = members
      }
    })
  }

  /**
   * The subset of `cids` not stored. Held blocks get their mtime refreshed: garbage collection
   * spares recently touched blocks, so a block a device was just told not to send survives until
   * the record that references it arrives.
   */
  async lacking (folder: string, cids: readonly CID[]): Promise<CID[]> {
    const out: CID[] = []
    const now = Date.now()
    for (const cid of cids) {
      // a block another folder holds is "lacking" here: the device proves it has the bytes by
      // sending them (members of one folder cannot probe another's blocks)
      if (!(await this.refs.has(folder, cid)) || !(await this.blocks.touch(cid, now))) out.push(cid)
    }
    return out
  }

  /**
   * Stores a block `device` uploaded into `folder`; charged to `device` when it is new to the
   * store. `missing`: the store was just seen without it (see BlockStore.put). The blocks of a
   * sealed folder go into packs; a plaintext one gets a file, which a deletion removes at once.
   */
  async putBlock (folder: string, device: string, cid: CID, data: Uint8Array, missing = false): Promise<void> {
    // the folder's reference goes first: a kill between the two leaves a reference to a block not
    // there (reported lacking, so sent again), never a block the folder's devices are told is
    // lacking (sent again after every restart: as much as was being written when it died)
    const packed = this.folders.get(folder)?.sealed === true
    const fresh = await this.blocks.put(cid, data, { beforePlace: async () => { await this.refs.add(folder, [cid]) }, missing, packed })
    if (fresh) await this.quotas.charge(device, cid, data.byteLength)
    this.receivedBlockBytes += data.byteLength
    this.receivedBlocks++
  }

  /** Garbage collection: a block no folder references any more. */
  async deleteBlock (cid: CID): Promise<void> {
    await this.blocks.delete(cid)
    await this.quotas.released(cid)
  }

  async putRecords (folder: string, records: readonly SignedRecord[]): Promise<number> {
    const f = this.folders.get(folder)
    if (f === undefined) throw new FerryError(`no folder ${folder} on this relay`, 'ERR_FERRY_FOLDER_NOT_FOUND')
    await this.refs.add(folder, records.flatMap(s => s.record.blocks.map(b => b.cid)), { sync: true })
    return await f.log.acceptRemote(records)
  }

  /**
   * `folder` as an upload session from `device` sees it, if `device` is a writer of its member
   * list (else undefined, as for a folder the relay does not hold). The caller checked trust.
   * Skeletons of /ferry/replica/2 are filled in from the folder's current records (every
   * device's newest per path: the uploader's previous version of a file is among them). A block
   * new to the store reserves its bytes in `device`'s quota before it is written.
   */
  async replicaFolder (folder: string, device: string, options: { sealed: boolean } = { sealed: false }): Promise<ReplicaFolder | undefined> {
    const f = this.folders.get(folder)
    if (f === undefined || !this.isWriter(folder, device)) return undefined
    if (options.sealed && !f.sealed) this.onSealed?.(await this.seal(f))
    if (!options.sealed && f.sealed) throw new ReplicaRefusal(ERR_SEALED_FOLDER, `this relay holds folder ${folder} sealed (encrypted): upgrade ferry on this device`)
    // blocks this session was just told are missing: their write does not look for them again
    const missing = new Set<string>()
    return {
      positions: () => f.log.positionVector(),
      lacking: async cids => await this.lacking(folder, cids),
      admitBlock: async (cid, bytes) => {
        if (await this.blocks.has(cid)) return undefined
        this.quotas.reserve(device, bytes)
        missing.add(cidKey(cid))
        return () => { this.quotas.release(device, bytes) }
      },
      putBlock: async (cid, data) => { await this.putBlock(folder, device, cid, data, missing.delete(cidKey(cid))) },
      putRecords: async records => await this.putRecords(folder, records),
      segments: this.segments.of(f.log)
    }
  }

  /**
   * Switches `f` to sealed: its records and history from plaintext uploads are dropped (the
   * devices upload them again, sealed), and so are the blocks no other folder references, at
   * once (not after the grace period: they are plaintext). Durable before it resolves.
   */
  private async seal (f: RelayFolder): Promise<SealMigration> {
    return await this.lock.run(async () => {
      const plain = await referencedBlocks([f.log])
      await folderSublevel(this.db, f.id).clear()
      await this.registry.put(f.id, JSON.stringify(registryEntry(f.held, f.members, true)), { sync: true } as Record<string, unknown>)
      // deleted entries stay in LevelDB's files until compacted: compact, so no plaintext stays on disk
      await this.db.compactRange('\x00', '\uffff')
      f.sealed = true
      f.log = await this.openLog(f.id)
      const elsewhere = await referencedBlocks(this.list().filter(o => o !== f).map(o => o.log))
      const report: SealMigration = { folder: f.id, records: plain.records, blocks: 0, bytes: 0 }
      for (const [k, cid] of plain.blocks) {
        if (elsewhere.blocks.has(k)) continue
        const size = await stat(this.blocks.pathOf(cid)).then(s => s.size, () => undefined)
        if (size === undefined) continue
        await this.deleteBlock(cid)
        report.blocks++
        report.bytes += size
      }
      return report
    })
  }

  /** Superseded records of one folder, oldest key first. */
  history (folder: RelayFolder): AsyncGenerator<HistoryEntry> {
    return folder.log.allHistory()
  }
}
