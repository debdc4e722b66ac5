import { describe, it, expect, afterAll } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, status, waitConverged, waitFor, writeRandomFile, type Device } from '../helpers/ferry-process.ts'

const MIB = 1024 * 1024
const SIZE_MIB = 256
/** issue 3: a device's peak RSS stays under this while it sends or receives a big file */
const MAX_PEAK_RSS_MIB = 250

/** peak resident set size of a running process, from the kernel (VmHWM) */
async function peakRssMiB (d: Device): Promise<number> {
  const pid = d.process?.pid
  if (pid === undefined) throw new Error(`${d.name} is not running`)
  const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error('no VmHWM in /proc/<pid>/status')
  return Number(m[1]) / 1024
}

describe('memory stays bounded whatever the file size', () => {
  const lab = new Lab()
  afterAll(async () => { await lab.cleanup() })

  it(`sending and receiving a ${SIZE_MIB} MiB file keeps both daemons under ${MAX_PEAK_RSS_MIB} MiB peak RSS`, async () => {
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await Promise.all([lab.start(a), lab.start(b)])
    await waitFor('connected', async () => (await status(a)).peers.every(p => p.connected))
    const idle = [await peakRssMiB(a), await peakRssMiB(b)]
    await writeRandomFile(join(a.folder, 'big.bin'), SIZE_MIB)
    await waitConverged([a, b], 120_000)
    const peak = [await peakRssMiB(a), await peakRssMiB(b)]
    console.log(`peak RSS MiB, idle -> after ${SIZE_MIB} MiB: sender ${idle[0]!.toFixed(0)} -> ${peak[0]!.toFixed(0)}, receiver ${idle[1]!.toFixed(0)} -> ${peak[1]!.toFixed(0)}`)
    expect(Object.values((await status(b)).receivedBytes).reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(SIZE_MIB * MIB)
    expect(peak[0]).toBeLessThan(MAX_PEAK_RSS_MIB)
    expect(peak[1]).toBeLessThan(MAX_PEAK_RSS_MIB)
  })
})
