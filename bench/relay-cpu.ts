/**
 * CPU and throughput of the relay path: device A uploads one random file to a relay (A alone),
 * then device B, with only the relay online, downloads it. Reports MB/s both ways and the
 * CPU-seconds per GiB of the uploader, the relay and the downloader (utime + stime from /proc),
 * and (in this process) the CPU-seconds per GiB of the sealing work alone: hashing a plaintext
 * block (what the plaintext path did per block), sealing it, opening it.
 * Runs against whatever checkout it sits in: copied into an older checkout it measures the
 * plaintext relay path of that version, in the same conditions.
 * Run: node bench/relay-cpu.ts (env SIZE_MIB, default 256). Writes bench/results/relay-cpu-<timestamp>.json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Lab, status, waitFor, writeRandomFile } from '../test/helpers/ferry-process.ts'
import { RelayLab, relayStatus, useRelay } from '../test/helpers/relay-process.ts'
import { blockCid } from '../src/hashing/block-cid.ts'

const SIZE_MIB = Number(process.env.SIZE_MIB ?? 256)
const MB = 1e6
const GIB = 1024 ** 3
const CLOCK_TICKS_PER_SECOND = 100

async function cpuSeconds (pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

/** the per-block work alone, in this process: CPU-seconds per GiB */
async function cryptoCost (): Promise<Record<string, number>> {
  const block = new Uint8Array(randomBytes(256 * 1024))
  const rounds = 1024 // 256 MiB
  const per = (t0: NodeJS.CpuUsage): number => { const u = process.cpuUsage(t0); return Number((((u.user + u.system) / 1e6) * GIB / (rounds * block.byteLength)).toFixed(2)) }
  let t = process.cpuUsage()
  for (let i = 0; i < rounds; i++) { block[0] = i & 0xff; blockCid(block) }
  const out: Record<string, number> = { hashCpuSecondsPerGiB: per(t) }
  const seal = await import('../src/crypto/block-seal.ts').catch(() => undefined)
  if (seal === undefined) return out
  const key = new Uint8Array(randomBytes(32))
  const cid = blockCid(block)
  t = process.cpuUsage()
  let sealed = seal.sealBlock(key, cid, block)
  for (let i = 1; i < rounds; i++) sealed = seal.sealBlock(key, cid, block)
  out.sealCpuSecondsPerGiB = per(t)
  t = process.cpuUsage()
  for (let i = 0; i < rounds; i++) seal.openBlock(key, cid, block.byteLength, sealed.data)
  out.openCpuSecondsPerGiB = per(t)
  return out
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
    await waitFor('a scanned', async () => (await status(a)).folders[0]!.localFiles === 1, 300_000)
    const relayPid = r.process!.pid!
    const [a0, r0] = [await cpuSeconds(a.process!.pid!), await cpuSeconds(relayPid)]
    const t0 = performance.now()
    await waitFor('a uploaded', async () => (await status(a)).folders[0]!.replicaInSync === true, 900_000)
    const up = (performance.now() - t0) / 1000
    const [a1, r1] = [await cpuSeconds(a.process!.pid!), await cpuSeconds(relayPid)]
    const upBytes = (await relayStatus(r)).receivedBlockBytes
    await lab.stop(a)
    const t1 = performance.now()
    await lab.start(b)
    const b0 = await cpuSeconds(b.process!.pid!)
    const r2 = await cpuSeconds(relayPid)
    await waitFor('b downloaded', async () => { const f = (await status(b)).folders[0]!; return f.inSync && f.localFiles === 1 }, 900_000)
    const down = (performance.now() - t1) / 1000
    const [b1, r3] = [await cpuSeconds(b.process!.pid!), await cpuSeconds(relayPid)]
    const gib = SIZE_MIB / 1024
    const perGiB = (s: number): number => Number((s / gib).toFixed(2))
    const result = {
      sizeMiB: SIZE_MIB,
      uploadMBps: Number((upBytes / MB / up).toFixed(1)),
      uploadStoredBytes: upBytes,
      downloadMBps: Number((SIZE_MIB * 1024 * 1024 / MB / down).toFixed(1)),
      uploaderCpuSecondsPerGiB: perGiB(a1 - a0),
      relayUploadCpuSecondsPerGiB: perGiB(r1 - r0),
      downloaderCpuSecondsPerGiB: perGiB(b1 - b0),
      relayDownloadCpuSecondsPerGiB: perGiB(r3 - r2),
      ...await cryptoCost()
    }
    process.stdout.write(JSON.stringify(result, null, 2) + '\n')
    await mkdir(join(import.meta.dirname, 'results'), { recursive: true })
    await writeFile(join(import.meta.dirname, 'results', `relay-cpu-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2) + '\n')
  } finally {
    await lab.cleanup()
    await relays.cleanup()
  }
}

await main()
