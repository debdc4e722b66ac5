import type { CID } from 'multiformats/cid'
import type { BlockBytes, WantedBlock } from '../../protocols/blocks/index.ts'
import { BlocksUnavailableError, type PeerSource } from './block-fetcher.ts'
import { cidKey } from '../hashing/block-cid.ts'

/** Fetches blocks from `peers`; resolves with those no peer could deliver. */
export type FetchSome = (peers: PeerSource, wanted: WantedBlock[], onBlock: (cid: CID, data: BlockBytes) => Promise<void>, signal?: AbortSignal) => Promise<WantedBlock[]>

export const DEFAULT_COALESCE_WINDOW_MS = 2
/** a request this big goes out alone: it fills streams by itself */
export const DEFAULT_COALESCE_MAX_BYTES = 4 * 1024 * 1024
export const DEFAULT_COALESCE_MAX_REQUESTS = 256

interface Item {
  wanted: WantedBlock[]
  onBlock: (cid: CID, data: BlockBytes) => Promise<void>
  done: PromiseWithResolvers<void>
}

interface Group { peers: PeerSource, items: Item[], bytes: number, timer?: NodeJS.Timeout, signal?: AbortSignal }

/**
 * Many small files fetched at once would each cost a stream and a round trip. Requests for the
 * same peers that arrive within a couple of milliseconds are merged into one want-list (blocks
 * shared between files are asked once), and each file's blocks are handed back to its writer.
 */
export class FetchCoalescer {
  private readonly fetchSome: FetchSome
  private readonly folder: string
  private readonly groups = new Map<string, Group>()

  constructor (folder: string, fetchSome: FetchSome) {
    this.folder = folder
    this.fetchSome = fetchSome
  }

  /**
   * Fetches `wanted` from `peers`: the peers to ask now, and, when given, `more` looks them up again as
   * the fetch goes (requests merged into one want-list use the first one's lookup: they were
   * made for the same peers).
   */
  async fetch (peers: readonly string[], wanted: WantedBlock[], onBlock: (cid: CID, data: BlockBytes) => Promise<void>, signal?: AbortSignal, more?: () => readonly string[]): Promise<void> {
    const bytes = wanted.reduce((n, w) => n + w.size, 0)
    if (bytes >= DEFAULT_COALESCE_MAX_BYTES) {
      const lacking = await this.fetchSome(more ?? peers, wanted, onBlock, signal)
      if (lacking.length > 0) throw new BlocksUnavailableError(this.folder, lacking.length)
      return
    }
    const key = [...peers].sort().join(',')
    let group = this.groups.get(key)
    if (group === undefined) {
      group = { peers: more ?? peers, items: [], bytes: 0, ...(signal === undefined ? {} : { signal }) }
      const g = group
      group.timer = setTimeout(() => { void this.flush(key, g) }, DEFAULT_COALESCE_WINDOW_MS)
      this.groups.set(key, group)
    }
    const done = Promise.withResolvers<void>()
    group.items.push({ wanted, onBlock, done })
    group.bytes += bytes
    if (group.bytes >= DEFAULT_COALESCE_MAX_BYTES || group.items.length >= DEFAULT_COALESCE_MAX_REQUESTS) void this.flush(key, group)
    await done.promise
  }

  private async flush (key: string, group: Group): Promise<void> {
    if (this.groups.get(key) !== group) return // already flushed
    this.groups.delete(key)
    clearTimeout(group.timer)
    const sinks = new Map<string, { want: WantedBlock, writers: Item[] }>()
    for (const item of group.items) {
      for (const w of item.wanted) {
        const k = cidKey(w.cid)
        const entry = sinks.get(k)
        if (entry === undefined) sinks.set(k, { want: w, writers: [item] })
        else if (!entry.writers.includes(item)) entry.writers.push(item)
      }
    }
    try {
      const lacking = await this.fetchSome(group.peers, [...sinks.values()].map(s => s.want), async (cid, data) => {
        for (const item of sinks.get(cidKey(cid))?.writers ?? []) await item.onBlock(cid, data)
      }, group.signal)
      const missing = new Set(lacking.map(w => cidKey(w.cid)))
      for (const item of group.items) {
        const count = item.wanted.filter(w => missing.has(cidKey(w.cid))).length
        if (count > 0) item.done.reject(new BlocksUnavailableError(this.folder, count))
        else item.done.resolve()
      }
    } catch (err) {
      for (const item of group.items) item.done.reject(err)
    }
  }
}
