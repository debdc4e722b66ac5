/**
 * Convergence of two real `ferry start` processes on loopback over a tree of a few thousand
 * files plus a few hundred MiB, then every change kind in both directions. Writes JSON to
 * bench/results/ and a table to stdout. Run: npm run bench:converge (env FILES, BIG_MIB to resize).
 */
import { mkdir, open, rename, rm, writeFile, appendFile, readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { cpus, totalmem } from 'node:os'
import { Lab, status, waitConverged, waitInSync, writeRandomFile, type Device } from '../test/helpers/ferry-process.ts'
import { socketBytes, type SocketBytes } from './socket-bytes.ts'

const FILES = Number(process.env.FILES ?? 3000)
const BIG_MIB = (process.env.BIG_MIB ?? '200,64,32').split(',').map(Number)
const MIB = 1024 * 1024

interface Step { step: string, seconds: number, aBlockBytes: number, bBlockBytes: number, aSocket: SocketBytes, bSocket: SocketBytes }

const blockBytes = async (d: Device): Promise<number> => Object.values((await status(d)).receivedBytes).reduce((x, y) => x + y, 0)

async function main (): Promise<void> {
  const lab = new Lab()
  await lab.setup()
  const steps: Step[] = []
  try {
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    let totalBytes = 0
    for (let i = 0; i < FILES; i++) {
      const dir = join(a.folder, `d${i % 100}`, `s${i % 7}`)
      await mkdir(dir, { recursive: true })
      const size = 1024 + ((i * 7919) % (63 * 1024))
      await writeFile(join(dir, `f${i}.dat`), randomBytes(size))
      totalBytes += size
    }
    for (const [i, mib] of BIG_MIB.entries()) {
      await writeRandomFile(join(a.folder, `big${i}.bin`), mib)
      totalBytes += mib * MIB
    }
    await lab.start(a)
    // the timed part starts when B starts: scan of A is already done, so this measures sync
    await waitConverged([a], 300_000)
    const measure = async (name: string, change: () => Promise<void>): Promise<void> => {
      const before = { a: await blockBytes(a), b: await blockBytes(b), aS: socketBytes(a.process!.pid!), bS: socketBytes(b.process!.pid!) }
      const hashBefore = (await status(a)).folders[0]!.stateHash
      const t0 = performance.now()
      await change()
      await waitInSync([a, b], hashBefore, 600_000)
      const seconds = (performance.now() - t0) / 1000
      await waitConverged([a, b], 60_000) // untimed: the trees really are identical
      const aS = socketBytes(a.process!.pid!)
      const bS = socketBytes(b.process!.pid!)
      steps.push({
        step: name,
        seconds,
        aBlockBytes: (await blockBytes(a)) - before.a,
        bBlockBytes: (await blockBytes(b)) - before.b,
        aSocket: { received: aS.received - before.aS.received, sent: aS.sent - before.aS.sent },
        bSocket: { received: bS.received - before.bS.received, sent: bS.sent - before.bS.sent }
      })
    }
    const t0 = performance.now()
    await lab.start(b)
    await waitInSync([a, b], undefined, 600_000)
    const initial = (performance.now() - t0) / 1000
    await waitConverged([a, b], 60_000)
    const s0 = socketBytes(b.process!.pid!)
    const a0 = socketBytes(a.process!.pid!)
    steps.push({ step: `initial: ${FILES} files + ${BIG_MIB.join('+')} MiB (${(totalBytes / MIB).toFixed(0)} MiB)`, seconds: initial, aBlockBytes: 0, bBlockBytes: await blockBytes(b), aSocket: a0, bSocket: s0 })

    await measure('b edits 100 small files', async () => {
      for (let i = 0; i < 100; i++) await appendFile(join(b.folder, `d${i % 100}`, `s${i % 7}`, `f${i}.dat`), 'edit')
    })
    await measure('a renames the 200 MiB file', async () => { await rename(join(a.folder, 'big0.bin'), join(a.folder, 'd1', 'renamed.bin')) })
    await measure('b moves a directory of ~30 files', async () => { await rename(join(b.folder, 'd2'), join(b.folder, 'moved-d2')) })
    await measure('a deletes 10 directory trees', async () => { for (let i = 10; i < 20; i++) await rm(join(a.folder, `d${i}`), { recursive: true }) })
    await measure('b overwrites 1 MiB in the middle of the 64 MiB file', async () => {
      const fh = await open(join(b.folder, 'big1.bin'), 'r+')
      try { await fh.write(randomBytes(MIB), 0, MIB, 32 * MIB) } finally { await fh.close() }
    })
    await measure('a copies the 32 MiB file', async () => { await writeFile(join(a.folder, 'copy.bin'), await readFile(join(a.folder, 'big2.bin'))) })

    // change-to-visible latency of a new 1 KiB file, watcher only (the periodic rescan is 60 s)
    const latenciesMs: number[] = []
    for (let i = 0; i < 20; i++) {
      await new Promise(resolve => setTimeout(resolve, 200))
      const name = `latency-${i}.txt`
      const body = randomBytes(1024)
      const t = performance.now()
      await writeFile(join(a.folder, name), body)
      while (true) {
        const got = await readFile(join(b.folder, name)).catch(() => undefined)
        if (got !== undefined && got.equals(body)) break
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      latenciesMs.push(performance.now() - t)
    }
    latenciesMs.sort((x, y) => x - y)
    const latency = { p50Ms: latenciesMs[9]!, p95Ms: latenciesMs[18]!, maxMs: latenciesMs[19]! }

    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      files: FILES,
      bigMiB: BIG_MIB,
      totalMiB: totalBytes / MIB,
      steps,
      newFileLatency: latency
    }
    await mkdir(join(import.meta.dirname, 'results'), { recursive: true })
    const file = join(import.meta.dirname, 'results', `converge-${result.date.replace(/[:.]/g, '-')}.json`)
    await writeFile(file, JSON.stringify(result, null, 2) + '\n')
    const mib = (n: number): string => (n / MIB).toFixed(2)
    console.log('| step | seconds | block MiB a<-b / b<-a | socket MiB in a / in b |')
    console.log('|---|---|---|---|')
    for (const s of steps) console.log(`| ${s.step} | ${s.seconds.toFixed(2)} | ${mib(s.aBlockBytes)} / ${mib(s.bBlockBytes)} | ${mib(s.aSocket.received)} / ${mib(s.bSocket.received)} |`)
    console.log(`\nnew 1 KiB file visible on the peer: p50 ${latency.p50Ms.toFixed(0)} ms, p95 ${latency.p95Ms.toFixed(0)} ms, max ${latency.maxMs.toFixed(0)} ms`)
    console.log(`written ${file}`)
  } finally {
    await lab.cleanup()
  }
}

await main()
