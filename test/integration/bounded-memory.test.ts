import { describe, it, expect, afterAll } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, status, waitConverged, waitFor, writeRandomFile, type Device } from '../helpers/ferry-process.ts'

const MIB = 1024 * 1024
const SIZE_MIB = 512
/**
 * Issue 3 asks for under 250 MiB while a 4 GiB file syncs. A 512 MiB file already reaches most
 * of the peak (block buffers awaiting collection, in-flight windows, malloc's high water); what
 * grows with the block count is a few MiB more at 4 GiB. Measured here: 158-161 MiB with ferry's
 * GC flags (src/cli/ferry.js; 162-188 MiB before them, 200-204 MiB before that, from a higher
 * idle base, which the idle bound below catches).
 */
const MAX_PEAK_RSS_MIB = 200
/**
 * A connected daemon before any transfer (peak so far): 111-112 MiB with 4 MiB semi-spaces (118-121
 * MiB with 8 MiB ones) when its modules come from Node's compile cache; ~132-134 MiB (2 MiB
 * semi-spaces) when it loads Node's TypeScript stripper (and before compact block CIDs); 125-126 MiB
 * since devices load WebRTC (node-datachannel), DCUtR, AutoNAT, UPnP and pino (measured: WebRTC alone
 * adds ~8 MiB to a libp2p process).
 */
const MAX_IDLE_RSS_MIB = 135

/** `VmHWM` (peak resident set size) or another size field of a running process, from the kernel */
async function procStatusMiB (d: Device, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const pid = d.process?.pid
  if (pid === undefined) throw new Error(`${d.name} is not running`)
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`)
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
    // a daemon's first start after its sources changed fills Node's compile cache (as an installed
    // ferry's first start does); the daemons measured are the ones started after it
    await lab.start(a)
    await lab.stop(a)
    await Promise.all([lab.start(a), lab.start(b)])
    for (const d of [a, b]) {
      // the daemon replaced itself with one that has few malloc arenas (src/cli/malloc-arenas.ts)
      expect((await readFile(`/proc/${d.process!.pid!}/environ`, 'latin1')).split('\0')).toContain('MALLOC_ARENA_MAX=2')
    }
    await waitFor('connected', async () => (await status(a)).peers.every(p => p.connected))
    const idle = [await procStatusMiB(a, 'VmHWM'), await procStatusMiB(b, 'VmHWM')]
    await writeRandomFile(join(a.folder, 'big.bin'), SIZE_MIB)
    await waitConverged([a, b], 180_000)
    const peak = [await procStatusMiB(a, 'VmHWM'), await procStatusMiB(b, 'VmHWM')]
    console.log(`peak RSS MiB, idle -> after ${SIZE_MIB} MiB: sender ${idle[0]!.toFixed(0)} -> ${peak[0]!.toFixed(0)}, receiver ${idle[1]!.toFixed(0)} -> ${peak[1]!.toFixed(0)}`)
    expect(Object.values((await status(b)).receivedBytes).reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(SIZE_MIB * MIB)
    expect(idle[0]).toBeLessThan(MAX_IDLE_RSS_MIB)
    expect(idle[1]).toBeLessThan(MAX_IDLE_RSS_MIB)
    expect(peak[0]).toBeLessThan(MAX_PEAK_RSS_MIB)
    expect(peak[1]).toBeLessThan(MAX_PEAK_RSS_MIB)
  })
})
