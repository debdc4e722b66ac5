import type { Stream } from '@libp2p/interface'
import { fetchHistory } from '../../protocols/history/index.ts'
import { InvalidMessageError, toError } from '../../protocols/wire/errors.ts'
import { ForgedRecordError } from '../log/signed-record.ts'
import { InvalidRecordError } from '../log/record-codec.ts'
import type { RemoteHistory } from '../history/revisions.ts'
import type { EventSink } from '../events/node-events.ts'
import type { SealedFolders } from './sealed-folders.ts'
import { SealOpenError } from '../crypto/seal-errors.ts'
import { MisplacedSealedRecordError } from '../crypto/record-seal.ts'

export interface RelayHistoryComponents {
  /** the folder's relays to ask (connected ones) */
  relays: string[]
  openStream: (relay: string) => Promise<Stream>
  /** true for devices whose versions this folder takes */
  accepts: (device: string) => boolean
  /** cuts off a relay that sent forged or misplaced records */
  hangUp: (relay: string, reason: Error) => void
  /** where a failed question is reported */
  events: EventSink
  /** relays hold the folder sealed: asked under the path's tag, answers opened */
  sealed?: SealedFolders
}

/**
 * Asks each relay for every version of `path` it keeps (/ferry/history/1). A relay that does not
 * answer is left out of `answered`; one that sends forged or misplaced records is cut off.
 */
export async function askRelaysForHistory (folder: string, path: string, c: RelayHistoryComponents): Promise<RemoteHistory> {
  const out: RemoteHistory = { answered: [], versions: [] }
  await Promise.all(c.relays.map(async relay => {
    try {
      const sealed = c.sealed
      const records = sealed === undefined
        ? await fetchHistory(await c.openStream(relay), folder, path)
        : await sealed.openVerified(folder, relay, await fetchHistory(await c.openStream(relay), folder, await sealed.sealedPath(folder, path)))
      if (records.some(s => s.record.path !== path)) throw new MisplacedSealedRecordError(`a version of another path in an answer for ${path}`)
      out.answered.push(relay)
      for (const s of records) if (c.accepts(s.record.device)) out.versions.push({ record: s.record, from: relay })
    } catch (err) {
      const e = toError(err)
      c.events.emit({ type: 'relay-history.failed', detail: { folder, path, relay, error: e.message } })
      if (e instanceof InvalidMessageError || e instanceof InvalidRecordError || e instanceof ForgedRecordError || e instanceof SealOpenError || e instanceof MisplacedSealedRecordError) c.hangUp(relay, e)
    }
  }))
  return out
}
