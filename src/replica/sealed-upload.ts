import type { CID } from 'multiformats/cid'
import type { ReplicaClient, BlockToSend } from '../../protocols/replica/index.ts'
import type { RecordReader } from '../store/record-log.ts'
import type { LocalIndex } from '../store/local-index.ts'
import type { SignedRecord } from '../log/signed-record.ts'
import type { BlockRef, FileRecord } from '../model/file-record.ts'
import type { FolderKey } from '../keys/folder-keyring.ts'
import { cidKey } from '../hashing/block-cid.ts'
import { sealBlockOffThread, sealedPlainLength, sealPaddedOffThread, type SealedBlock } from '../crypto/block-seal.ts'
import { envelopeRecord, sealPayload, sealedPath, type SealedBlockRef } from '../crypto/record-seal.ts'
import type { SealedFolders } from './sealed-folders.ts'
import { ScratchBuffer } from '../../protocols/blocks/index.ts'

/** plaintext bytes sealed in memory before the relay is asked which of them it lacks */
export const DEFAULT_SEAL_CHUNK_BYTES = 16 * 1024 * 1024
/** blocks read and sealed at once (the thread pool's size) */
export const DEFAULT_SEALS_AT_ONCE = 4

export interface SealedUploadContext {
  folder: string
  self: string
  store: RecordReader & Pick<LocalIndex, 'blockLocations'>
  sealed: SealedFolders
  /** verified bytes of one of our blocks, or undefined (file changed or gone); `into`: a buffer it may be read into */
  readBlock: (cid: CID, size: number, into?: Uint8Array) => Promise<Uint8Array | undefined>
  /** resolves when `bytes` more may be sent (rate limits); default: at once */
  pace?: (bytes: number) => Promise<void>
  /** a sealed block the relay acknowledged as durable */
  onAcked: (bytes: number) => void
  recordsPerStep: number
  blockBytesPerStep: number
}

/**
 * One upload session of a sealed folder (the relay sees only ciphertext): our own records after
 * the relay's position, in steps; each step seals its blocks (convergent: a block the relay
 * holds is not sent again), then the records' payloads, then the envelopes, signed by us. Only a
 * prefix of records whose blocks all reached the relay is sent, so the relay's position never
 * passes a record it lacks. Resolves with whether everything could be read, and the records sent.
 */
export async function sealedSession (client: ReplicaClient, c: SealedUploadContext, audit: boolean): Promise<{ complete: boolean, records: number }> {
  const { key, tagKey } = await c.sealed.sealingKeys(c.folder)
  let complete = true
  let records = 0
  let step: SignedRecord[] = []
  let stepBytes = 0
  const flush = async (): Promise<void> => {
    if (step.length === 0) return
    const placed = await sealBlocks(client, c, key, step.flatMap(s => s.record.blocks))
    const ready: SignedRecord[] = []
    for (const s of step) {
      if (!s.record.blocks.every(b => placed.has(cidKey(b.cid)))) break
      ready.push(s)
    }
    if (ready.length < step.length) complete = false
    const envelopes: FileRecord[] = []
    const parts: SealedBlock[] = []
    for (const s of ready) {
      const { refs, parts: p } = payloadOf(key, s, placed)
      parts.push(...p)
      envelopes.push(envelopeRecord({ inner: s.record, path: sealedPath(tagKey, s.record.path), parts: p, blocks: refs }))
    }
    if (parts.length > 0) await sendFromMemory(client, parts, c)
    if (envelopes.length > 0) await client.sendRecords(await c.sealed.signEnvelopes(envelopes))
    records += ready.length
    step = []
    stepBytes = 0
  }
  for await (const s of c.store.recordsAfter(c.self, client.positions[c.self] ?? 0)) {
    step.push(s)
    stepBytes += s.record.deleted ? 0 : s.record.size
    if (step.length >= c.recordsPerStep || stepBytes >= c.blockBytesPerStep) {
      await flush()
      if (!complete) break
    }
  }
  if (complete) await flush()
  if (audit && complete) {
    // every block of our live files, whether or not its record was new to the relay
    const own = [...c.store.ownRecords().keys()].flatMap(path => c.store.signedOf(path).filter(s => s.record.device === c.self))
    const blocks = own.flatMap(s => s.record.blocks)
    const placed = await sealBlocks(client, c, key, blocks)
    if (blocks.some(b => !placed.has(cidKey(b.cid)))) complete = false
    // and every payload (sealing is deterministic: the same parts the envelopes name, unless rekeyed since)
    else await sendFromMemory(client, own.flatMap(s => payloadOf(key, s, placed).parts), c)
  }
  return { complete, records }
}

/** the sealed payload of one of our records whose blocks are all `placed` */
function payloadOf (key: FolderKey, s: SignedRecord, placed: ReadonlyMap<string, SealedBlockRef>): { refs: SealedBlockRef[], parts: SealedBlock[] } {
  const refs = [...new Map(s.record.blocks.map(b => [cidKey(b.cid), placed.get(cidKey(b.cid))!])).values()]
  return { refs, parts: sealPayload(key, { bytes: s.bytes, signature: s.signature, blocks: refs }) }
}

/**
 * Puts the sealed copies of these blocks on the relay (those of ours it lacks); returns where
 * each block that is there now lives. Blocks sealed before under this key are only asked about;
 * new ones are read and sealed a chunk at a time, and only the ones the relay lacks are sent.
 */
async function sealBlocks (client: ReplicaClient, c: SealedUploadContext, key: FolderKey, blocks: readonly BlockRef[]): Promise<Map<string, SealedBlockRef>> {
  const placed = new Map<string, SealedBlockRef>()
  const known: SealedBlockRef[] = []
  const unknown: BlockRef[] = []
  const seen = new Set<string>()
  for (const b of blocks) {
    const k = cidKey(b.cid)
    if (seen.has(k)) continue
    seen.add(k)
    const ref = c.sealed.sealedAs(c.folder, key.id, b.cid)
    if (ref !== undefined) known.push(ref)
    else if (c.store.blockLocations(b.cid).length > 0) unknown.push(b)
  }
  const place = (ref: SealedBlockRef): void => { placed.set(cidKey(ref.plainCid), ref) }
  if (known.length > 0) {
    const byCipher = new Map(known.map(r => [cidKey(r.cid), r]))
    const lacking = new Set((await client.lacking(known.map(r => r.cid))).map(cidKey))
    for (const r of known) if (!lacking.has(cidKey(r.cid))) place(r)
    const toSend: BlockToSend[] = known.filter(r => lacking.has(cidKey(r.cid))).map(r => ({ cid: r.cid, size: r.size }))
    await client.sendBlocks(toSend, async b => {
      const ref = byCipher.get(cidKey(b.cid))!
      const data = await c.readBlock(ref.plainCid, ref.plainSize)
      if (data === undefined) return undefined
      const s = await sealBlockOffThread(key.key, ref.plainCid, data)
      if (!s.cid.equals(b.cid)) return undefined
      await c.pace?.(s.data.byteLength)
      return s.data
    }, b => { place(byCipher.get(cidKey(b.cid))!); c.onAcked(b.size) })
  }
  /** reads and seals the chunk of `unknown` that starts at `from` (the cipher on the thread pool) */
  const sealChunk = async (from: number): Promise<{ chunk: SealedChunk, next: number }> => {
    let end = from
    for (let bytes = 0; end < unknown.length && bytes < DEFAULT_SEAL_CHUNK_BYTES; end++) bytes += unknown[end]!.size
    const sealed: Array<SealedChunk[number] | undefined> = []
    let at = from
    // a few blocks at a time, each worker with a buffer of its own (readAndSeal)
    const worker = async (): Promise<void> => {
      const scratch = new ScratchBuffer()
      for (let i = at++; i < end; i = at++) {
        const b = unknown[i]!
        const s = await readAndSeal(key.key, b, c.readBlock, scratch)
        if (s === undefined) continue
        sealed[i - from] = { ref: { plainCid: b.cid, plainSize: b.size, cid: s.cid, size: s.data.byteLength }, data: s.data }
      }
    }
    await Promise.all(Array.from({ length: DEFAULT_SEALS_AT_ONCE }, worker))
    return { chunk: sealed.filter(x => x !== undefined), next: end }
  }
  // the next chunk is read and sealed while this one is asked about and sent (two in memory)
  let sealing = unknown.length > 0 ? sealChunk(0) : undefined
  while (sealing !== undefined) {
    const { chunk, next } = await sealing
    sealing = next < unknown.length ? sealChunk(next) : undefined
    sealing?.catch(() => {}) // observed when awaited; a failed send below leaves it
    if (chunk.length === 0) continue
    c.sealed.remember(c.folder, key.id, chunk.map(x => x.ref))
    const byCipher = new Map(chunk.map(x => [cidKey(x.ref.cid), x]))
    const lacking = new Set((await client.lacking(chunk.map(x => x.ref.cid))).map(cidKey))
    for (const x of chunk) if (!lacking.has(cidKey(x.ref.cid))) place(x.ref)
    const toSend = chunk.filter(x => lacking.has(cidKey(x.ref.cid))).map(x => ({ cid: x.ref.cid, size: x.ref.size }))
    await client.sendBlocks(toSend, async b => {
      const data = byCipher.get(cidKey(b.cid))!.data
      await c.pace?.(data.byteLength)
      return data
    }, b => { place(byCipher.get(cidKey(b.cid))!.ref); c.onAcked(b.size) })
  }
  return placed
}

/**
 * Reads block `b` into `scratch` and pads it there, then seals it: sealBlock's bytes, with no
 * buffer made but the ciphertext. A reader that hands back a buffer of its own has it padded as
 * a copy. Undefined when the block cannot be read.
 */
export async function readAndSeal (folderKey: Uint8Array, b: BlockRef, read: SealedUploadContext['readBlock'], scratch: ScratchBuffer): Promise<SealedBlock | undefined> {
  const padded = scratch.sized(sealedPlainLength(b.size))
  const data = await read(b.cid, b.size, padded)
  if (data === undefined) return undefined
  return data.buffer === padded.buffer ? await sealPaddedOffThread(folderKey, b.cid, padded.fill(0, b.size)) : await sealBlockOffThread(folderKey, b.cid, data)
}

/** blocks read and sealed together, with where each one is stored */
type SealedChunk = Array<{ ref: SealedBlockRef, data: Uint8Array }>

/** sends sealed blocks held in memory that the relay lacks */
async function sendFromMemory (client: ReplicaClient, blocks: readonly SealedBlock[], c: Pick<SealedUploadContext, 'pace' | 'onAcked'>): Promise<void> {
  const byCipher = new Map(blocks.map(b => [cidKey(b.cid), b]))
  const lacking = await client.lacking([...byCipher.values()].map(b => b.cid))
  await client.sendBlocks(lacking.map(cid => ({ cid, size: byCipher.get(cidKey(cid))!.data.byteLength })), async b => {
    const data = byCipher.get(cidKey(b.cid))!.data
    await c.pace?.(data.byteLength)
    return data
  }, b => { c.onAcked(b.size) })
}
