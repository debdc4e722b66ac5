import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import { openSignedRecord, type SignedRecord } from '../../src/log/signed-record.ts'
import { validatePath } from '../../src/model/paths.ts'
import { MessageStream } from '../wire/message-stream.ts'
import { InvalidMessageError, RemoteError, toError } from '../wire/errors.ts'
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_RECORDS, DEFAULT_TIMEOUT_MS, HISTORY_PROTOCOL } from './constants.ts'
import { fieldReaders } from '../wire/fields.ts'

const { bad, shortString } = fieldReaders(HISTORY_PROTOCOL)

/**
 * /ferry/history/1 (docs/PROTOCOL.md §12): one question per stream.
 *   client -> server  ['get', folder, path]
 *   server -> client  ['recs', [[bytes, signature], ...]]   every record of `path` the server
 *                     keeps (current and superseded, any device), verbatim; then it closes
 *   server -> client  ['err', code, message]
 */
export type HistoryMessage =
  | { type: 'get', folder: string, path: string }
  | { type: 'recs', records: Array<[Uint8Array, Uint8Array]> }
  | { type: 'err', code: string, message: string }

export function encodeHistoryMessage (m: HistoryMessage): unknown[] {
  switch (m.type) {
    case 'get': return ['get', m.folder, m.path]
    case 'recs': return ['recs', m.records]
    case 'err': return ['err', m.code, m.message]
  }
}

export function decodeHistoryMessage (v: [string, ...unknown[]]): HistoryMessage {
  const [tag, ...rest] = v
  switch (tag) {
    case 'get':
      if (rest.length !== 2) bad('get: expected [folder, path]')
      return { type: 'get', folder: shortString(rest[0], 'folder', 256), path: shortString(rest[1], 'path', 4096) }
    case 'recs': {
      if (rest.length !== 1 || !Array.isArray(rest[0])) return bad('recs: expected [records]')
      const list = rest[0] as unknown[]
      if (list.length > DEFAULT_MAX_RECORDS) bad('recs: too many records')
      for (const r of list) {
        if (!Array.isArray(r) || r.length !== 2 || !(r[0] instanceof Uint8Array) || !(r[1] instanceof Uint8Array)) bad('recs: bad record envelope')
      }
      return { type: 'recs', records: list as Array<[Uint8Array, Uint8Array]> }
    }
    case 'err':
      if (rest.length !== 2) bad('err: expected [code, message]')
      return { type: 'err', code: shortString(rest[0], 'code', 64), message: shortString(rest[1], 'message', 1024) }
    default:
      return bad(`unknown message type ${JSON.stringify(tag).slice(0, 40)}`)
  }
}

function messages (stream: Stream): MessageStream {
  return new MessageStream(stream, HISTORY_PROTOCOL, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES })
}

export interface HistoryServerComponents {
  /** every signed record of `path` kept in `folder` (newest first), or undefined if `peer` may not read it */
  recordsOf: (peer: string, folder: string, path: string) => Promise<SignedRecord[] | undefined>
  log: Logger
}

/** Answers one `get` and closes. */
export async function serveHistory (stream: Stream, peer: string, components: HistoryServerComponents): Promise<void> {
  const ms = messages(stream)
  try {
    const m = decodeHistoryMessage(await ms.read({ signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) }))
    if (m.type !== 'get') throw new InvalidMessageError(HISTORY_PROTOCOL, `expected get, got ${m.type}`)
    const records = await components.recordsOf(peer, m.folder, m.path)
    if (records === undefined) {
      await ms.write(encodeHistoryMessage({ type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: `not a member of folder ${m.folder}` }))
    } else {
      await ms.write(encodeHistoryMessage({ type: 'recs', records: records.slice(0, DEFAULT_MAX_RECORDS).map(s => [s.bytes, s.signature]) }))
    }
    await ms.close()
  } catch (err) {
    components.log('history stream from %s failed: %s', peer, toError(err).message)
    ms.abort(err)
  }
}

/**
 * Asks for every record of `path` the server keeps. Each one is signature-checked and must be
 * of this folder and path (a server cannot invent or misplace versions); ForgedRecordError or
 * InvalidMessageError otherwise.
 */
export async function fetchHistory (stream: Stream, folder: string, path: string, signal: AbortSignal = AbortSignal.timeout(DEFAULT_TIMEOUT_MS)): Promise<SignedRecord[]> {
  const ms = messages(stream)
  try {
    await ms.write(encodeHistoryMessage({ type: 'get', folder, path: validatePath(path) }))
    const m = decodeHistoryMessage(await ms.read({ signal }))
    if (m.type === 'err') throw new RemoteError(HISTORY_PROTOCOL, m.code, m.message)
    if (m.type !== 'recs') throw new InvalidMessageError(HISTORY_PROTOCOL, `expected recs, got ${m.type}`)
    const out: SignedRecord[] = []
    for (const [bytes, signature] of m.records) {
      const s = await openSignedRecord(bytes, signature)
      if (s.record.folder !== folder || s.record.path !== path) throw new InvalidMessageError(HISTORY_PROTOCOL, `record of ${s.record.folder}/${s.record.path} in an answer for ${folder}/${path}`)
      out.push(s)
    }
    await ms.close()
    return out
  } catch (err) {
    ms.abort(err)
    throw toError(err)
  }
}
