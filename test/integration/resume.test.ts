import { describe, it, expect, afterEach } from 'vitest'
import { open, readdir } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Lab, status, tempFiles, waitConverged, waitFor, type Device } from '../helpers/ferry-process.ts'

const MIB = 1024 * 1024
const SIZE_MIB = 128
/**
 * The bound: blocks counted as received but not yet written at the kill (the applier's
 * 1 MiB of pending writes, plus the block each of the two streams holds) are fetched again.
 */
const REFETCH_ALLOWANCE = 2 * MIB

const received = async (d: Device): Promise<number> => Object.values((await status(d)).receivedBytes).reduce((x, y) => x + y, 0)

describe('an interrupted download resumes', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('after the receiver is SIGKILLed halfway, it fetches only the blocks its temp file lacks', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    const fh = await open(join(a.folder, 'big.bin'), 'w')
    for (let i = 0; i < SIZE_MIB; i++) await fh.write(randomBytes(MIB))
    await fh.close()
    await lab.start(a)
    await waitFor('a has scanned', async () => (await status(a)).folders[0]!.localFiles === 1)
    await lab.start(b)
    let before = 0
    let seen: { path: string, sizeBytes: number, doneBytes: number } | undefined
    await waitFor('b is halfway', async () => {
      const s = await status(b)
      seen ??= s.folders[0]!.transfers[0]
      before = Object.values(s.receivedBytes).reduce((x, y) => x + y, 0)
      return before > SIZE_MIB * MIB * 0.5
    }, 60_000)
    // status shows the file in flight, with its progress
    expect(seen).toMatchObject({ path: 'big.bin', sizeBytes: SIZE_MIB * MIB })
    expect(seen!.doneBytes).toBeLessThan(SIZE_MIB * MIB)
    await lab.stop(b, 'SIGKILL')
    expect((await tempFiles(b.folder)).length).toBe(1)
    await lab.start(b)
    await waitConverged([a, b], 120_000)
    const after = await received(b)
    // without resume `after` would be the whole file again
    expect(before + after).toBeLessThanOrEqual(SIZE_MIB * MIB + REFETCH_ALLOWANCE)
    // nothing is left behind once in sync
    await waitFor('temp area emptied', async () => (await tempFiles(b.folder)).length === 0)
  })

  it('after the sender is SIGKILLed halfway and restarted, the receiver fetches only what it lacks', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    const fh = await open(join(a.folder, 'big.bin'), 'w')
    for (let i = 0; i < SIZE_MIB; i++) await fh.write(randomBytes(MIB))
    await fh.close()
    await lab.start(a)
    await waitFor('a has scanned', async () => (await status(a)).folders[0]!.localFiles === 1)
    await lab.start(b)
    await waitFor('b is halfway', async () => await received(b) > SIZE_MIB * MIB * 0.5, 60_000)
    await lab.stop(a, 'SIGKILL')
    const atKill = await received(b)
    expect(atKill).toBeLessThan(SIZE_MIB * MIB)
    await lab.start(a)
    await waitConverged([a, b], 120_000)
    // b kept running: its counter covers both attempts. What reached b before the kill is in its
    // temp file, so the second attempt asks only for the rest.
    expect(await received(b)).toBeLessThanOrEqual(SIZE_MIB * MIB + REFETCH_ALLOWANCE)
    await waitFor('temp area emptied', async () => (await tempFiles(b.folder)).length === 0)
  })
})
