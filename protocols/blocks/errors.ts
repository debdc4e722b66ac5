import type { CID } from 'multiformats/cid'
import { InvalidMessageError } from '../wire/errors.ts'
import { BLOCKS_PROTOCOL_V2 } from './constants.ts'

/** Thrown when a peer sends a block whose bytes do not hash to its cid: the peer is cut off. */
export class CorruptBlockError extends InvalidMessageError {
  constructor (cid: CID) {
    super(BLOCKS_PROTOCOL_V2, `block ${cid.toString()} does not match its hash`)
  }
}

/**
 * Thrown when a compressed block does not inflate to exactly its declared size: garbage,
 * truncation, or a bomb (`bomb`: it would inflate past the size). The peer is cut off.
 */
export class InvalidCompressedBlockError extends InvalidMessageError {
  readonly bomb: boolean
  constructor (cid: CID, reason: string, bomb: boolean) {
    super(BLOCKS_PROTOCOL_V2, `block ${cid.toString()}: ${reason}`)
    this.bomb = bomb
  }
}
