/**
 * The relay's block store alone, the two layouts side by side in one run (not part of npm test):
 *   node bench/relay-store.ts [--blocks 2048] [--kib 256]
 * Puts random blocks, 16 at once (a session's write limit), each with its folder reference and
 * quota charge as the relay does, into a block per file (plaintext folders) and into packs
 * (sealed folders). Reports per layout: wall time, MB/s and CPU-seconds per GiB (user and
 * system, process.cpuUsage), best of a few rounds, and the ratio packed / files. Each round
 * starts from an empty store in the system's temp directory.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomFillSync } from 'node:crypto'
import { parseArgs } from 'node:util'
import { ClassicLevel } from 'classic-level'
import type { CID } from 'multiformats/cid'
import { BlockStore } from '../relay/store/block-store.ts'
import { BlockRefs } from '../relay/store/block-refs.ts'
import { Quotas } from '../relay/store/quotas.ts'
import { DEFAULT_MAX_CONCURRENT_BLOCK_WRITES } from '../protocols/replica/constants.ts'
import { blockCid } from '../src/hashing/block-cid.ts'

const { values } = parseArgs({ options: { blocks: { type: 'string', default: '2048' }, kib: { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' } } })
const BLOCKS = Number(values.blocks)
const BLOCK_BYTES = Number(values.kib) * 1024
const ROUNDS = Number(values.rounds)
const GIB = 1024 ** 3

interface Figures { seconds: number, mbPerS: number, userPerGiB: number, systemPerGiB: number, cpuPerGiB: number }

async function round (packed: boolean, blocks: ReadonlyArray<{ cid: CID, data: Uint8Array }>): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-relay-store-'))
  const db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
  await db.open()
  const store = new BlockStore(join(dir, 'blocks'), db.sublevel<string, string>('packed', { valueEncoding: 'utf8' }))
  await store.open()
  const refs = new BlockRefs(db)
  const quotas = new Quotas(db)
  await quotas.open()
  try {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: DEFAULT_MAX_CONCURRENT_BLOCK_WRITES }, async () => {
      while (next < blocks.length) {
        const b = blocks[next++]!
        const fresh = await store.put(b.cid, b.data, { beforePlace: async () => { await refs.add('f', [b.cid]) }, missing: true, packed })
        if (fresh) await quotas.charge('d', b.cid, b.data.byteLength)
      }
    }))
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const gib = blocks.length * BLOCK_BYTES / GIB
    return { seconds, mbPerS: blocks.length * BLOCK_BYTES / 1e6 / seconds, userPerGiB: cpu.user / 1e6 / gib, systemPerGiB: cpu.system / 1e6 / gib, cpuPerGiB: (cpu.user + cpu.system) / 1e6 / gib }
  } finally {
    await store.close()
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const blocks = Array.from({ length: BLOCKS }, () => {
  const data = new Uint8Array(BLOCK_BYTES)
  randomFillSync(data)
  return { cid: blockCid(data), data }
})
const best: Record<'files' | 'packed', Figures | undefined> = { files: undefined, packed: undefined }
for (let r = 0; r < ROUNDS; r++) {
  // alternating, so a change in the machine's load falls on both
  for (const layout of ['files', 'packed'] as const) {
    const f = await round(layout === 'packed', blocks)
    if (best[layout] === undefined || f.cpuPerGiB < best[layout].cpuPerGiB) best[layout] = f
  }
}
const fmt = (n: number): string => n.toFixed(2)
console.log(`relay block store, ${BLOCKS} blocks of ${BLOCK_BYTES / 1024} KiB, ${DEFAULT_MAX_CONCURRENT_BLOCK_WRITES} at once, best of ${ROUNDS} rounds`)
console.log('| layout | time s | MB/s | CPU-s per GiB (user + system) |')
console.log('|---|---|---|---|')
for (const layout of ['files', 'packed'] as const) {
  const f = best[layout]!
  console.log(`| ${layout} | ${fmt(f.seconds)} | ${fmt(f.mbPerS)} | ${fmt(f.cpuPerGiB)} (${fmt(f.userPerGiB)} + ${fmt(f.systemPerGiB)}) |`)
}
console.log(`packed / files: CPU ${fmt(best.packed!.cpuPerGiB / best.files!.cpuPerGiB)}, time ${fmt(best.packed!.seconds / best.files!.seconds)}`)
