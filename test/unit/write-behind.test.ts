import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { DATASYNC_EVERY_BYTES, WriteBehind } from '../../src/sync/local-blocks.ts'

const MIB = 1024 * 1024

describe('WriteBehind (a big file being assembled)', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-write-behind-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('writes every block where it belongs and datasyncs in the background as it goes', async () => {
    const fh = await open(join(dir, 'f'), 'w+')
    // a spy on the real handle: the datasyncs run, we only count them
    let datasyncs = 0
    const datasync = fh.datasync.bind(fh)
    fh.datasync = async () => { datasyncs++; await datasync() }
    const blocks = Math.ceil((2.5 * DATASYNC_EVERY_BYTES) / MIB)
    const content = randomBytes(blocks * MIB)
    const writes = new WriteBehind(fh)
    try {
      // out of order, half of them in pieces (as blocks arrive from the network)
      for (let i = blocks - 1; i >= 0; i--) {
        const block = content.subarray(i * MIB, (i + 1) * MIB)
        await writes.write(i % 2 === 0 ? block : new Uint8ArrayList(block.subarray(0, 1000), block.subarray(1000)), i * MIB)
      }
      await writes.flush()
    } finally {
      await fh.close()
    }
    expect(Buffer.from(await readFile(join(dir, 'f'))).equals(content)).toBe(true)
    // one per DATASYNC_EVERY_BYTES written, fewer when one was still running (never two at once)
    expect(datasyncs).toBeGreaterThanOrEqual(1)
    expect(datasyncs).toBeLessThanOrEqual(2)
  })

  it('a failed background datasync fails the file (a writeback error is reported only once)', async () => {
    const fh = await open(join(dir, 'f'), 'w+')
    fh.datasync = async () => { throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }) }
    const writes = new WriteBehind(fh)
    try {
      const block = randomBytes(MIB)
      let thrown: unknown
      try {
        for (let i = 0; i < DATASYNC_EVERY_BYTES / MIB + 8; i++) await writes.write(block, i * MIB)
      } catch (err) {
        thrown = err // a write after the failure may throw it already
      }
      await expect(writes.flush()).rejects.toThrow(/EIO/)
      if (thrown !== undefined) expect(String(thrown)).toMatch(/EIO/)
    } finally {
      await fh.close()
    }
  })
})
