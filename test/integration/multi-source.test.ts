import { describe, it, expect, afterEach } from 'vitest'
import { join } from 'node:path'
import { readFile, writeFile } from 'node:fs/promises'
import { Lab, ferryOk, writeRandomFile, status, waitConverged, waitFor, type Device } from '../helpers/ferry-process.ts'

const MIB = 1024 * 1024
const SIZE_MIB = 96

/** a and b both hold the file; c joins and fetches it. */
async function threeDevices (lab: Lab): Promise<{ a: Device, b: Device, c: Device }> {
  await lab.setup()
  const a = await lab.device('a')
  const b = await lab.device('b')
  const c = await lab.device('c')
  await lab.pair(a, b)
  await lab.pair(a, c)
  await lab.pair(b, c)
  await writeRandomFile(join(a.folder, 'big.bin'), SIZE_MIB)
  await Promise.all([lab.start(a), lab.start(b)])
  await waitConverged([a, b], 60_000)
  return { a, b, c }
}

describe('a file held by several peers', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('is fetched from all of them in parallel', async () => {
    lab = new Lab()
    const { a, b, c } = await threeDevices(lab)
    await lab.start(c)
    await waitConverged([a, b, c], 60_000)
    const got = (await status(c)).receivedBytes
    expect(got[a.id]).toBeGreaterThan(8 * MIB)
    expect(got[b.id]).toBeGreaterThan(8 * MIB)
    expect((got[a.id] ?? 0) + (got[b.id] ?? 0)).toBe(SIZE_MIB * MIB)
  })

  it('when one source goes away mid-transfer, the other finishes the file without starting over', async () => {
    lab = new Lab()
    const { a, b, c } = await threeDevices(lab)
    // c downloads at most 24 MiB/s (loopback counts too), so the file takes a few seconds: b is
    // still sending when it goes, however late its connection or its index reached c
    const config = join(c.home, 'config.json')
    await writeFile(config, JSON.stringify({ ...JSON.parse(await readFile(config, 'utf8')), limits: { exemptLan: false } }, null, 2))
    await ferryOk(['--home', c.home, 'limits', 'set', '--download', '24MiB'])
    await lab.start(c)
    await waitFor('c is receiving from both', async () => {
      const got = (await status(c)).receivedBytes
      return (got[a.id] ?? 0) > 4 * MIB && (got[b.id] ?? 0) > 4 * MIB
    }, 60_000)
    await lab.stop(b, 'SIGKILL')
    await waitConverged([a, c], 60_000)
    const got = (await status(c)).receivedBytes
    const total = Object.values(got).reduce((x, y) => x + y, 0)
    // a batch in flight from b may be asked again of a: at most one batch (8 MiB) extra
    expect(total).toBeLessThanOrEqual(SIZE_MIB * MIB + 8 * MIB)
  })
})
