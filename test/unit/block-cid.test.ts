import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { blockCid, blockCidAsync, blockMatches, cidKey } from '../../src/hashing/block-cid.ts'

describe('block cids', () => {
  it('the thread-pool hash gives the same cid as the inline one, for views into bigger buffers too', async () => {
    const buf = randomBytes(1 << 20)
    for (const [from, to] of [[0, 1], [0, 65536], [17, 300_001], [1000, 1 << 20]] as const) {
      const view = new Uint8Array(buf.buffer, buf.byteOffset + from, to - from)
      const cid = await blockCidAsync(view)
      expect(cid.equals(blockCid(view))).toBe(true)
      expect(blockMatches(cid, view)).toBe(true)
    }
  })
})

describe('cidKey', () => {
  it('is cid.toString(), for blocks of every size', () => {
    for (let n = 0; n < 300; n++) {
      const cid = blockCid(randomBytes(n))
      expect(cidKey(cid)).toBe(cid.toString())
    }
  })
})
