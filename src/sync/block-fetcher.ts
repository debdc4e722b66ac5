import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { fetchBlocks, ScratchBuffer, type BlockBytes, type WantedBlock } from '../../protocols/blocks/index.ts'
import { InvalidMessageError, toError } from '../../protocols/wire/errors.ts'
import { FerryError } from '../errors.ts'
import { cidKey } from '../hashing/block-cid.ts'

export interface BlockFetcherComponents {
  /** opens a /ferry/blocks/1 stream to a connected peer */
  openBlocksStream: (peer: string, signal?: AbortSignal) => Promise<Stream>
  /** peers we are connected to right now */
  isConnected: (peer: string) => boolean
  /** cuts a misbehaving peer off */
  hangUp: (peer: string, reason: Error) => void
  /** resolves when `bytes` more may be read from `peer` (rate limits); default: at once */
  paceDownload?: (peer: string, bytes: number, signal?: AbortSignal) => Promise<void>
  /** a relay holding `folder` sealed (it has only ciphertext): blocks are asked of it by their ciphertext and opened here */
  sealedSource?: (folder: string, peer: string) => SealedBlockSource | undefined
  /**
   * a peer asked only for blocks no other connected candidate can deliver (a relay: its uplink
   * and bytes are its operator's, and a device's own path to the author is usually faster)
   */
  isFallback?: (peer: string) => boolean
  log: Logger
}

/** How blocks of a sealed folder are fetched from a relay. */
export interface SealedBlockSource {
  /** the ciphertext block the relay holds for a plaintext one; undefined: not known (not asked) */
  stored: (plainCid: CID) => WantedBlock | undefined
  /** opens a ciphertext block; throws (the relay is cut off) unless it yields exactly the plaintext */
  open: (plainCid: CID, data: Uint8Array) => Promise<Uint8Array>
}

export class BlocksUnavailableError extends FerryError {
  constructor (folder: string, count: number) {
    super(`${count} block(s) of folder ${folder} are not available from any connected peer`, 'ERR_FERRY_BLOCKS_UNAVAILABLE')
  }
}

/** block bytes asked of one peer per request (one stream each) */
export const DEFAULT_BATCH_BYTES = 32 * 1024 * 1024
/** failed requests after which a peer is not asked again for the rest of one fetch */
export const DEFAULT_MAX_PEER_FAILURES = 3
/** requests in flight per peer: while one stream ends, the next is already flowing */
export const DEFAULT_REQUESTS_PER_PEER = 2
/** how often a running fetch looks for candidates that became able (connected, or their index arrived) */
export const DEFAULT_JOIN_CHECK_MS = 500

/** the peers to ask: fixed, or looked up again as the fetch goes (a holder that connects joins) */
export type PeerSource = readonly string[] | (() => readonly string[])

/**
 * Gets blocks from several peers at once: every connected candidate (those known to hold the
 * version first, then other members; fallbacks, the relays, only once none of those can serve)
 * pulls batches from one shared queue, so faster peers take more, and a peer that fails or lacks blocks leaves them to the others without restarting the
 * file. Each received block is hash-checked (in the protocol client) before `onBlock`.
 */
export class BlockFetcher {
  private readonly c: BlockFetcherComponents
  /** block bytes received per peer, for status and tests */
  readonly receivedBytes = new Map<string, number>()
  /** blocks received per peer, for metrics */
  readonly receivedBlocks = new Map<string, number>()

  constructor (components: BlockFetcherComponents) {
    this.c = components
  }

  /** Fetches `wanted`; resolves with the blocks no peer could deliver. */
  async fetchSome (folder: string, peers: PeerSource, wanted: readonly WantedBlock[], onBlock: (cid: CID, data: BlockBytes) => Promise<void>, signal?: AbortSignal): Promise<WantedBlock[]> {
    const queue: WantedBlock[] = [...wanted]
    /** cid -> peers that lack it or failed on it */
    const refusedBy = new Map<string, Set<string>>()
    /** peers that failed this round (they sit it out), and how often each failed in all */
    const dead = new Set<string>()
    const failures = new Map<string, number>()
    const refuse = (w: WantedBlock, peer: string): void => {
      const k = cidKey(w.cid)
      const set = refusedBy.get(k) ?? new Set()
      set.add(peer)
      refusedBy.set(k, set)
    }
    // a peer that failed gets another round while connected (its stream may have been on a
    // connection that was just replaced by a better one), up to DEFAULT_MAX_PEER_FAILURES
    const candidates = (): string[] => (typeof peers === 'function' ? peers() : peers).filter(p => !dead.has(p) && (failures.get(p) ?? 0) < DEFAULT_MAX_PEER_FAILURES && this.c.isConnected(p))
    const take = (peer: string): WantedBlock[] => {
      const batch: WantedBlock[] = []
      /** blocks looked at but refused by this peer: they stay queued, in order */
      const skipped: WantedBlock[] = []
      let bytes = 0
      let i = 0
      for (; i < queue.length && bytes < DEFAULT_BATCH_BYTES; i++) {
        const w = queue[i]!
        if (refusedBy.get(cidKey(w.cid))?.has(peer) === true) { skipped.push(w); continue }
        batch.push(w)
        bytes += w.size
      }
      // the skipped blocks move to the end of the part looked at, which goes in one splice (a
      // splice per block made a big file's queue quadratic)
      const from = i - skipped.length
      for (let k = 0; k < skipped.length; k++) queue[from + k] = skipped[k]!
      queue.splice(0, from)
      return batch
    }

    const worker = async (peer: string): Promise<void> => {
      while (!dead.has(peer)) {
        signal?.throwIfAborted()
        const batch = take(peer)
        if (batch.length === 0) return
        const delivered = new Set<string>()
        const source = this.c.sealedSource?.(folder, peer)
        /** sealed: ciphertext cid -> the plaintext block it holds */
        const plainOf = new Map<string, WantedBlock>()
        let asked: WantedBlock[] = batch
        if (source !== undefined) {
          asked = []
          for (const w of batch) {
            const stored = source.stored(w.cid)
            if (stored === undefined) { refuse(w, peer); queue.push(w); continue }
            plainOf.set(cidKey(stored.cid), w)
            asked.push(stored)
          }
          if (asked.length === 0) continue
        }
        // a sealed block arrives in pieces and is opened from one buffer: this stream's, reused
        // (fetchBlocks hands over one block at a time; a copy per block was garbage at once)
        const scratch = new ScratchBuffer()
        try {
          const stream = await this.c.openBlocksStream(peer, signal)
          const missing = await fetchBlocks(stream, folder, asked, {
            ...(signal === undefined ? {} : { signal }),
            ...(this.c.paceDownload === undefined ? {} : { pace: async (bytes: number) => { await this.c.paceDownload!(peer, bytes, signal) } }),
            onBlock: async (cid, data) => {
              this.receivedBytes.set(peer, (this.receivedBytes.get(peer) ?? 0) + data.byteLength)
              this.receivedBlocks.set(peer, (this.receivedBlocks.get(peer) ?? 0) + 1)
              const plain = plainOf.get(cidKey(cid))
              if (source !== undefined && plain !== undefined) {
                await onBlock(plain.cid, await source.open(plain.cid, scratch.whole(data)))
                delivered.add(cidKey(plain.cid))
                return
              }
              await onBlock(cid, data)
              delivered.add(cidKey(cid))
            }
          })
          const lacking = new Set(missing.map(c => cidKey(plainOf.get(cidKey(c))?.cid ?? c)))
          for (const w of batch) {
            if (!lacking.has(cidKey(w.cid))) continue
            refuse(w, peer)
            queue.push(w)
          }
        } catch (e) {
          const err = toError(e)
          signal?.throwIfAborted()
          this.c.log('fetching from %s failed: %s', peer, err.message)
          if (err instanceof InvalidMessageError || (err instanceof FerryError && err.code === 'ERR_FERRY_SEAL_OPEN')) this.c.hangUp(peer, err)
          dead.add(peer)
          failures.set(peer, (failures.get(peer) ?? 0) + 1)
          // what this peer did not deliver goes back to the others
          for (const w of batch) if (!delivered.has(cidKey(w.cid))) queue.push(w)
        }
      }
    }

    const servable = (): string[] => {
      const able = candidates().filter(p => queue.some(w => refusedBy.get(cidKey(w.cid))?.has(p) !== true))
      const preferred = able.filter(p => this.c.isFallback?.(p) !== true)
      // fallbacks get the next round, with whatever the others lacked or failed on
      return preferred.length > 0 ? preferred : able
    }
    // rounds: blocks pushed back after a worker finished get another chance with the rest
    while (queue.length > 0) {
      const inRound = new Set<string>()
      const work: Array<Promise<void>> = []
      const join = (): void => {
        for (const p of servable()) {
          if (inRound.has(p)) continue
          inRound.add(p)
          for (let k = 0; k < DEFAULT_REQUESTS_PER_PEER; k++) work.push(worker(p))
        }
      }
      join()
      if (work.length === 0) break
      // a candidate that becomes able while the round runs (it connects, or its index arrives
      // and says it holds the version) joins it: a big file is not left to the first peer alone
      for (;;) {
        const finished = await Promise.race([Promise.all(work).then(() => true), delay(DEFAULT_JOIN_CHECK_MS)])
        if (finished) break
        if (queue.length > 0) join()
      }
      dead.clear()
    }
    return queue
  }
}

/** resolves false after `ms` (an unref'd timer: it keeps nothing alive) */
async function delay (ms: number): Promise<false> {
  return await new Promise(resolve => { setTimeout(() => { resolve(false) }, ms).unref() })
}
