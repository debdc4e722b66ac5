/**
 * Throughput through the relay: device A uploads one random file to a relay (A alone), then
 * device B, with only the relay online, downloads it. Reports MB/s both ways and the relay's
 * peak RSS (VmHWM). With FILES > 0 a tree of that many small files (1-20 KiB, 100 per
 * directory) goes along, and B's tree is compared with A's at the end (issue 4: "a few thousand
 * files plus a 1 GiB file" between devices never online together).
 * Run: node bench/relay-throughput.ts (env SIZE_MIB, default 256; FILES, default 0).
 * Writes bench/results/relay-<timestamp>.json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Lab, sameTree, status, treeOf, waitFor, writeRandomFile } from '../test/helpers/ferry-process.ts'
import { RelayLab, relayStatus, useRelay } from '../test/helpers/relay-process.ts'

const SIZE_MIB = Number(process.env.SIZE_MIB ?? 256)
const FILES = Number(process.env.FILES ?? 0)
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
    for (let i = 0; i < FILES; i++) {
      const dir = join(a.folder, 'small', `d${Math.floor(i / 100)}`)
      if (i % 100 === 0) await mkdir(dir, { recursive: true })
      await writeFile(join(dir, `f${i}.bin`), randomBytes(1024 + Math.floor(Math.random() * 19 * 1024)))
    }
    await lab.start(a)
    // the scan (chunking + hashing) is not part of the upload: wait for the records first
    await waitFor('a scanned', async () => (await status(a)).folders[0]!.localFiles === 1 + FILES, 300_000)
    const t0 = performance.now()
    await waitFor('a uploaded', async () => (await status(a)).folders[0]!.replicaInSync === true, 600_000)
    const up = (performance.now() - t0) / 1000
    const upBytes = (await relayStatus(r)).receivedBlockBytes
    await lab.stop(a)
    const t1 = performance.now()
    await lab.start(b)
    await waitFor('b downloaded', async () => {
      const f = (await status(b)).folders[0]!
      return f.inSync && f.localFiles === 1 + FILES
    }, 600_000)
    const down = (performance.now() - t1) / 1000
    const rss = await peakRssMiB(r.process!.pid!)
    const bytes = (await status(b)).folders[0]!.localBytes
    const identical = sameTree(await treeOf(a.folder), await treeOf(b.folder))
    const result = {
      sizeMiB: SIZE_MIB,
      files: 1 + FILES,
      identical,
      uploadSeconds: Number(up.toFixed(2)),
      uploadMBps: Number((upBytes / MB / up).toFixed(1)),
      uploadBlockBytes: upBytes,
      downloadSeconds: Number(down.toFixed(2)),
      downloadMBps: Number((bytes / MB / down).toFixed(1)),
      relayPeakRssMiB: Number(rss.toFixed(0))
    }
    process.stdout.write(JSON.stringify(result, null, 2) + '\n')
    await mkdir(join(import.meta.dirname, 'results'), { recursive: true })
    await writeFile(join(import.meta.dirname, 'results', `relay-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2) + '\n')
    if (!identical) process.exitCode = 1
  } finally {
    await lab.cleanup()
    await relays.cleanup()
  }
}

await main()
