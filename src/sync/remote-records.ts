import { openSignedRecord, type SignedRecord } from '../log/signed-record.ts'
import { decodeRecord } from '../log/record-codec.ts'

/**
 * The records of a peer's batch that this folder keeps, their signatures verified. A bad
 * signature or malformed record throws (the caller cuts the peer off); records of other folders,
 * of this device, or of devices that may not change the folder are dropped.
 */
export async function openRemoteRecords (pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, folder: { folder: string, self: string, acceptsChangesFrom: (device: string) => boolean }): Promise<SignedRecord[]> {
  const checks: Array<Promise<SignedRecord>> = []
  for (const [bytes, signature] of pairs) {
    // cheap checks first: only records that would be kept are worth a signature check
    const record = decodeRecord(bytes)
    if (record.folder !== folder.folder) continue
    if (record.device === folder.self || !folder.acceptsChangesFrom(record.device)) continue
    // verified on the thread pool, all of the batch at once; any failure rejects the batch
    checks.push(openSignedRecord(bytes, signature, record))
  }
  return await Promise.all(checks)
}
