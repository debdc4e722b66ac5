import type { PrivateKey } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { KeyringFiles } from '../keys/keyring-file.ts'
import { currentKey, keyById, type FolderKey, type FolderKeyring } from '../keys/folder-keyring.ts'
import { cidKey } from '../hashing/block-cid.ts'
import { decodeRecord } from '../log/record-codec.ts'
import { openSignedRecord, signRecords, type SignedRecord } from '../log/signed-record.ts'
import type { FileRecord } from '../model/file-record.ts'
import { openBlockOffThread } from '../crypto/block-seal.ts'
import { checkPayload, MisplacedSealedRecordError, openPayload, partHeader, sealedPath, SEALED_PATH_PREFIX, type SealedBlockRef } from '../crypto/record-seal.ts'
import { SealOpenError } from '../crypto/seal-errors.ts'
import { FerryError } from '../errors.ts'

/** a block to fetch as a relay stores it: its ciphertext CID and size */
export interface StoredBlock { cid: CID, size: number }

export interface SealedFoldersComponents {
  home: string
  /** the device key: sealed records (envelopes) are signed by their author */
  key: PrivateKey
  /** the blocks a relay stores (ciphertext), each checked against its CID; missing ones are left out */
  fetchStored: (folder: string, relay: string, wanted: readonly StoredBlock[]) => Promise<Map<string, Uint8Array>>
  /** every record a relay keeps of a (tagged) path, signature-checked (/ferry/history/1) */
  fetchHistory: (folder: string, relay: string, path: string) => Promise<SignedRecord[]>
  /** a relay sent something that does not open: cut it off */
  hangUp: (relay: string, reason: Error) => void
}

/** where a plaintext block lives on the relays: its ciphertext, and the key that sealed it */
interface Placement { ref: SealedBlockRef, keyId: string }

/**
 * A device's side of sealed folders (docs/DESIGN.md, "What a relay sees"): folder keys from the
 * keyring files, the envelopes it signs for its uploads, and the opening of what relays send
 * (envelopes into the authors' signed records; ciphertext blocks into verified plaintext). It
 * remembers where each plaintext block it sealed or opened lives on the relays (in memory:
 * after a restart, uploads seal again and downloads learn it from the records they open).
 */
export class SealedFolders {
  private readonly c: SealedFoldersComponents
  private readonly files: KeyringFiles
  private readonly placements = new Map<string, Map<string, Placement>>()
  /** keyrings as last read, for opening (a key not found here is looked for in the file again) */
  private readonly rings = new Map<string, FolderKeyring>()

  constructor (c: SealedFoldersComponents) {
    this.c = c
    this.files = new KeyringFiles(c.home)
  }

  /** the folder's keyring, made on first use (a device that added the folder before keyrings) */
  async keyring (folder: string): Promise<FolderKeyring> {
    return await this.files.ensure(folder)
  }

  /** the key new data is sealed with, and the key path tags are made with (the first one) */
  async sealingKeys (folder: string): Promise<{ key: FolderKey, tagKey: Uint8Array }> {
    const ring = await this.keyring(folder)
    return { key: currentKey(ring), tagKey: firstKey(ring).key }
  }

  /** the tagged path a relay files `path` under */
  async sealedPath (folder: string, path: string): Promise<string> {
    return sealedPath((await this.sealingKeys(folder)).tagKey, path)
  }

  private async keyFor (folder: string, id: string): Promise<FolderKey> {
    const cached = this.rings.get(folder)
    const hit = cached === undefined ? undefined : keyById(cached, id)
    if (hit !== undefined) return hit
    // keyrings only grow: a key not held yet may have arrived since it was read
    const ring = await this.files.load(folder)
    if (ring !== undefined) this.rings.set(folder, ring)
    const key = ring === undefined ? undefined : keyById(ring, id)
    if (key === undefined) throw new FerryError(`a record of folder ${folder} is sealed with key ${id}, which this device lacks`, 'ERR_FERRY_NO_FOLDER_KEY', 'ask a member device to share the folder again')
    return key
  }

  async signEnvelopes (records: readonly FileRecord[]): Promise<SignedRecord[]> {
    return await signRecords(records, this.c.key)
  }

  private placementsOf (folder: string): Map<string, Placement> {
    let m = this.placements.get(folder)
    if (m === undefined) { m = new Map(); this.placements.set(folder, m) }
    return m
  }

  remember (folder: string, keyId: string, refs: readonly SealedBlockRef[]): void {
    const m = this.placementsOf(folder)
    for (const ref of refs) m.set(cidKey(ref.plainCid), { ref, keyId })
  }

  /** where a plaintext block of ours was sealed to under `keyId` (undefined: not sealed yet) */
  sealedAs (folder: string, keyId: string, plainCid: CID): SealedBlockRef | undefined {
    const p = this.placements.get(folder)?.get(cidKey(plainCid))
    return p?.keyId === keyId ? p.ref : undefined
  }

  /** the ciphertext a relay holds for a plaintext block, if a record we opened named it */
  stored (folder: string, plainCid: CID): StoredBlock | undefined {
    const p = this.placements.get(folder)?.get(cidKey(plainCid))
    return p === undefined ? undefined : { cid: p.ref.cid, size: p.ref.size }
  }

  /** a ciphertext block from a relay, opened and checked against the plaintext CID */
  async openStored (folder: string, plainCid: CID, data: Uint8Array): Promise<Uint8Array> {
    const p = this.placements.get(folder)?.get(cidKey(plainCid))
    if (p === undefined) throw new FerryError(`no sealed copy of block ${plainCid.toString()} is known`, 'ERR_FERRY_SEAL_OPEN')
    return await openBlockOffThread((await this.keyFor(folder, p.keyId)).key, plainCid, p.ref.plainSize, data)
  }

  /**
   * Opens envelopes a relay sent (their bytes and signatures, as received) into the authors'
   * signed records, in order. Their payloads are fetched from the relay; a payload that does not
   * open or does not match its envelope throws (the relay is cut off). The inner signatures are
   * checked by whoever accepts the records.
   */
  async open (folder: string, relay: string, pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Promise<Array<[Uint8Array, Uint8Array]>> {
    // records from before the folder was sealed (the relay drops them) are not ours to open
    const envelopes = pairs.map(([bytes]) => decodeRecord(bytes)).filter(e => e.path.startsWith(SEALED_PATH_PREFIX))
    const first = await this.fetchAll(folder, relay, envelopes.map(e => e.blocks[0]).filter(b => b !== undefined))
    const more: StoredBlock[] = []
    const partsOf = envelopes.map(e => {
      const head = e.blocks[0] === undefined ? undefined : first.get(cidKey(e.blocks[0].cid))
      if (head === undefined) throw new FerryError(`relay ${relay} lacks the payload of ${e.device}#${e.seq}`, 'ERR_FERRY_SEAL_OPEN')
      const { parts, keyId } = partHeader(head)
      if (parts < 1 || parts > e.blocks.length) throw new FerryError(`the payload of ${e.device}#${e.seq} is malformed`, 'ERR_FERRY_SEAL_OPEN')
      const rest = e.blocks.slice(1, parts)
      more.push(...rest)
      return { head, rest, keyId }
    })
    const others = more.length === 0 ? new Map<string, Uint8Array>() : await this.fetchAll(folder, relay, more)
    const out: Array<[Uint8Array, Uint8Array]> = []
    for (const [i, e] of envelopes.entries()) {
      const { head, rest, keyId } = partsOf[i]!
      const data = [head, ...rest.map(b => others.get(cidKey(b.cid)))]
      if (data.some(d => d === undefined)) throw new FerryError(`relay ${relay} lacks a payload part of ${e.device}#${e.seq}`, 'ERR_FERRY_SEAL_OPEN')
      const payload = openPayload(await this.keyFor(folder, keyId), data as Uint8Array[])
      checkPayload(e, payload)
      this.remember(folder, keyId, payload.blocks)
      out.push([payload.bytes, payload.signature])
    }
    return out
  }

  /**
   * Makes sure where `wanted` blocks (of a version of `path`) live on the relays is known: when
   * some are not (this device restarted after it received the record), the relays' records of
   * the path are opened again. Best effort: a relay that cannot answer is left to the fetcher.
   */
  async learn (folder: string, relays: readonly string[], path: string, wanted: readonly CID[]): Promise<void> {
    const known = this.placements.get(folder)
    if (wanted.every(c => known?.has(cidKey(c)) === true)) return
    const tagged = await this.sealedPath(folder, path)
    for (const relay of relays) {
      try {
        await this.openVerified(folder, relay, await this.c.fetchHistory(folder, relay, tagged))
      } catch (err) {
        if (err instanceof SealOpenError || err instanceof MisplacedSealedRecordError) this.c.hangUp(relay, err)
      }
      if (wanted.every(c => this.placements.get(folder)?.has(cidKey(c)) === true)) return
    }
  }

  /** `open` for records a relay answered a history question with: the authors' records, verified */
  async openVerified (folder: string, relay: string, records: readonly SignedRecord[]): Promise<SignedRecord[]> {
    const opened = await this.open(folder, relay, records.map(s => [s.bytes, s.signature] as const))
    return await Promise.all(opened.map(async ([bytes, signature]) => await openSignedRecord(bytes, signature)))
  }

  private async fetchAll (folder: string, relay: string, wanted: readonly StoredBlock[]): Promise<Map<string, Uint8Array>> {
    const distinct = new Map(wanted.map(b => [cidKey(b.cid), b]))
    return await this.c.fetchStored(folder, relay, [...distinct.values()])
  }
}

/** the key path tags are made with: the lowest epoch, smallest id (stable across rekeys) */
function firstKey (ring: FolderKeyring): FolderKey {
  let best: FolderKey | undefined
  for (const k of ring.keys) if (best === undefined || k.epoch < best.epoch || (k.epoch === best.epoch && k.id < best.id)) best = k
  if (best === undefined) throw new FerryError(`folder ${ring.folderId} has no key`, 'ERR_FERRY_NO_FOLDER_KEY')
  return best
}
