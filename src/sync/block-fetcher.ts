import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import { fetchBlocks, type WantedBlock } from '../../protocols/blocks/index.ts'
import { InvalidMessageError, toError } from '../../protocols/wire/errors.ts'
import { FerryError } from '../errors.ts'

export interface BlockFetcherComponents {
  /** opens a /ferry/blocks/1 stream to a connected peer */
  openBlocksStream: (peer: string, signal?: AbortSignal) => Promise<Stream>
  /** peers we are connected to right now */
  isConnected: (peer: string) => boolean
  /** cuts a misbehaving peer off */
  hangUp: (peer: string, reason: Error) => void
  log: Logger
}

export class BlocksUnavailableError extends FerryError {
  constructor (folder: string, count: number) {
    super(`${count} block(s) of folder ${folder} are not available from any connected peer`, 'ERR_FERRY_BLOCKS_UNAVAILABLE')
  }
}

/**
 * Gets blocks from peers: those known to hold the version first, then any other connected
 * member. Each received block is hash-checked (in the protocol client) before `onBlock`.
 */
export class BlockFetcher {
  private readonly c: BlockFetcherComponents
  /** block bytes received per peer, for status and tests */
  readonly receivedBytes = new Map<string, number>()

  constructor (components: BlockFetcherComponents) {
    this.c = components
  }

  async fetch (folder: string, peers: readonly string[], wanted: readonly WantedBlock[], onBlock: (cid: CID, data: Uint8Array) => Promise<void>, signal?: AbortSignal): Promise<void> {
    let remaining = [...wanted]
    const delivered = new Set<string>()
    for (const peer of peers) {
      if (remaining.length === 0) break
      if (!this.c.isConnected(peer)) continue
      signal?.throwIfAborted()
      try {
        const stream = await this.c.openBlocksStream(peer, signal)
        const missing = await fetchBlocks(stream, folder, remaining, {
          ...(signal === undefined ? {} : { signal }),
          onBlock: async (cid, data) => {
            this.receivedBytes.set(peer, (this.receivedBytes.get(peer) ?? 0) + data.byteLength)
            await onBlock(cid, data)
            delivered.add(cid.toString())
          }
        })
        const lacking = new Set(missing.map(c => c.toString()))
        remaining = remaining.filter(w => lacking.has(w.cid.toString()))
      } catch (e) {
        const err = toError(e)
        signal?.throwIfAborted()
        this.c.log('fetching from %s failed: %s', peer, err.message)
        if (err instanceof InvalidMessageError) this.c.hangUp(peer, err)
        // blocks received before the failure were delivered; ask the next peer for the rest
        remaining = remaining.filter(w => !delivered.has(w.cid.toString()))
      }
    }
    if (remaining.length > 0) throw new BlocksUnavailableError(folder, remaining.length)
  }
}
