/**
 * Throughput through the relay: device A uploads one random file to a relay (A alone), then
 * device B, with only the relay online, downloads it. Reports MB/s both ways and the relay's
 * peak RSS (VmHWM). Run: node bench/relay-throughput.ts (env SIZE_MIB, default 256).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, status, waitFor, writeRandomFile } from '../test/helpers/ferry-process.ts'
import { RelayLab, relayStatus, useRelay } from '../test/helpers/relay-process.ts'

const SIZE_MIB = Number(process.env.SIZE_MIB ?? 256)
const MB = 1e6

async function peakRssMiB (pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(text)?.[1] ?? 0)
  return kb / 1024
}

async function main (): Promise<void> {
  const lab = new Lab()
  const relays = new RelayLab()
  await lab.setup()
  await relays.setup()
  try {
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await useRelay(a, r)
    await useRelay(b, r)
    await writeRandomFile(join(a.folder, 'big.bin'), SIZE_MIB)
    await lab.start(a)
    // the scan (chunking + hashing) is not part of the upload: wait for the record first
    await waitFor('a scanned', async () => (await status(a)).folders[0]!.localFiles === 1, 300_000)
    const t0 = performance.now()
    await waitFor('a uploaded', async () => (await status(a)).folders[0]!.replicaInSync === true, 600_000)
    const up = (performance.now() - t0) / 1000
    const upBytes = (await relayStatus(r)).receivedBlockBytes
    await lab.stop(a)
    const t1 = performance.now()
    await lab.start(b)
    await waitFor('b downloaded', async () => {
      const f = (await status(b)).folders[0]!
      return f.inSync && f.localFiles === 1
    }, 600_000)
    const down = (performance.now() - t1) / 1000
    const rss = await peakRssMiB(r.process!.pid!)
    const bytes = SIZE_MIB * 1024 * 1024
    const result = {
      sizeMiB: SIZE_MIB,
      uploadSeconds: Number(up.toFixed(2)),
      uploadMBps: Number((upBytes / MB / up).toFixed(1)),
      downloadSeconds: Number(down.toFixed(2)),
      downloadMBps: Number((bytes / MB / down).toFixed(1)),
      relayPeakRssMiB: Number(rss.toFixed(0))
    }
    process.stdout.write(JSON.stringify(result, null, 2) + '\n')
  } finally {
    await lab.cleanup()
    await relays.cleanup()
  }
}

await main()
