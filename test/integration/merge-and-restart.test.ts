import { describe, it, expect, afterEach } from 'vitest'
import { mkdir, writeFile, readdir, readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Lab, writeRandomFile, status, waitConverged, waitFor } from '../helpers/ferry-process.ts'

describe('devices that start apart', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('merge different content into the union, keeping both versions of a path edited on both', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await mkdir(join(a.folder, 'only-a/sub'), { recursive: true })
    await writeFile(join(a.folder, 'only-a/sub/one.txt'), 'from a')
    await mkdir(join(b.folder, 'only-b'), { recursive: true })
    await writeFile(join(b.folder, 'only-b/two.txt'), 'from b')
    await writeFile(join(a.folder, 'same.txt'), 'identical on both')
    await writeFile(join(b.folder, 'same.txt'), 'identical on both')
    await writeFile(join(a.folder, 'clash.txt'), 'version of a')
    await writeFile(join(b.folder, 'clash.txt'), 'version of b')
    await lab.pair(a, b)
    await Promise.all([lab.start(a), lab.start(b)])
    const tree = await waitConverged([a, b])
    expect(tree.has('only-a/sub/one.txt')).toBe(true)
    expect(tree.has('only-b/two.txt')).toBe(true)
    expect(await readFile(join(b.folder, 'same.txt'), 'utf8')).toBe('identical on both')
    const copies = (await readdir(a.folder)).filter(n => /^clash\.sync-conflict-\d{8}-\d{6}-.+\.txt$/.test(n))
    expect(copies).toHaveLength(1)
    const versions = [await readFile(join(a.folder, 'clash.txt'), 'utf8'), await readFile(join(a.folder, copies[0]!), 'utf8')]
    expect(versions.sort()).toEqual(['version of a', 'version of b'])
  })

  for (const victim of ['receiver', 'sender'] as const) {
    it(`converge after the ${victim} is SIGKILLed mid-transfer and restarted`, async () => {
      lab = new Lab()
      await lab.setup()
      const a = await lab.device('a')
      const b = await lab.device('b')
      await lab.pair(a, b)
      await writeRandomFile(join(a.folder, 'big.bin'), 96)
      await mkdir(join(a.folder, 'many'))
      for (let i = 0; i < 200; i++) await writeFile(join(a.folder, 'many', `f${i}.txt`), randomBytes(2048))
      await lab.start(a)
      await waitFor('a has scanned', async () => (await status(a)).folders[0]!.localFiles === 201)
      await lab.start(b)
      // wait until the transfer is under way, then kill
      await waitFor('b is receiving', async () => Object.values((await status(b)).receivedBytes).some(n => n > 4 * 1024 * 1024), 60_000)
      const killed = victim === 'receiver' ? b : a
      await lab.stop(killed, 'SIGKILL')
      if (victim === 'sender') expect((await status(b)).folders[0]!.needFiles).toBeGreaterThan(0)
      else expect((await readdir(b.folder)).includes('big.bin')).toBe(false)
      await lab.start(killed)
      const tree = await waitConverged([a, b], 120_000)
      expect(tree.size).toBe(202)
      // no half-written file ever shows under a real name
      expect((await readdir(b.folder)).every(n => !n.endsWith('.part'))).toBe(true)
    })
  }
})
