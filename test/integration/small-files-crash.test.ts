import { describe, it, expect, afterEach } from 'vitest'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Lab, status, tempFiles, waitConverged, waitFor, treeOf, sameTree } from '../helpers/ferry-process.ts'

const DIRS = 40
const FILES_PER_DIR = 100
const TOTAL = DIRS * FILES_PER_DIR

/**
 * Small files take their own path in the applier (assembled in memory, written and fsynced with
 * blocking calls, installed in groups): a receiver killed in the middle of thousands of them must
 * come back with every file intact, none half-written under its real name.
 */
describe('many small files', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('a receiver SIGKILLed while receiving thousands of small files restarts and converges with every file intact', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    for (let d = 0; d < DIRS; d++) {
      await mkdir(join(a.folder, `d${d}`))
      for (let i = 0; i < FILES_PER_DIR; i++) await writeFile(join(a.folder, `d${d}`, `f${i}.bin`), randomBytes(1024 + ((d * FILES_PER_DIR + i) * 7919) % (19 * 1024)))
    }
    await lab.start(a)
    await waitFor('a has scanned', async () => (await status(a)).folders[0]!.localFiles === TOTAL, 60_000)
    await lab.start(b)
    // kill once some files are in place, long before all are
    await waitFor('b is installing', async () => (await status(b)).folders[0]!.localFiles > 200, 60_000)
    await lab.stop(b, 'SIGKILL')
    const placed = (await Promise.all(Array.from({ length: DIRS }, async (_, d) => await readdir(join(b.folder, `d${d}`)).catch(() => [])))).flat()
    expect(placed.length).toBeLessThan(TOTAL)
    await lab.start(b)
    const tree = await waitConverged([a, b], 120_000)
    expect(tree.size).toBe(TOTAL + DIRS)
    expect(sameTree(tree, await treeOf(a.folder))).toBe(true)
    // every temp file was either installed or dropped once nothing was left to do
    await waitFor('temp files swept', async () => (await tempFiles(b.folder)).length === 0, 30_000)
  })
})
