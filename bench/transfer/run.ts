/**
 * Transfer benchmark (issue 3): ferry against rsync, Syncthing and the machine's raw limits, in
 * one invocation so the ratios hold on a noisy machine. Everything stays on 127.0.0.1.
 *
 *   node_modules/.bin/node bench/transfer/run.ts
 *
 * env: SCENARIOS=S1,...,S7,R1,R2 (default all)   SIZE_MIB=1024 (the big file)
 *      TOOLS=raw,ferry,rsync,syncthing (default all)  MEM_SETTLE_S=10 (pause before each timed step)
 *      S5_REPS=20  ST_S5_DEFAULT_REPS=3 (Syncthing S5 tries with its default 10 s watcher delay)
 *      POLL_MS=100 (completion polling)  IDLE_S=10 (idle RSS after S1/S2/R1/R2)  STEP_TIMEOUT_S (default max(600, SIZE_MIB))  NO_INSTALL=1
 * Writes bench/results/transfer-<timestamp>.json and prints a markdown report on stdout
 * (progress on stderr).
 */
import { mkdir, readdir, readFile, statfs, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { cpus, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { runFerry } from './ferry-runner.ts'
import { runRsync } from './rsync-runner.ts'
import { runSyncthing } from './syncthing-runner.ts'
import { runRawRefs } from './raw-refs.ts'
import { ensureTools } from './install.ts'
import { markdown, ratios } from './report.ts'
import type { BenchConfig, ToolRun } from './types.ts'
import { envNum, errMsg, GiB, log, MiB, runCleanups } from './util.ts'

const ALL = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'R1', 'R2']
const REPO = join(import.meta.dirname, '..', '..')

/** which ferry code ran: a digest over src/ and protocols/ (the tree changes under us) */
async function sourceDigest (): Promise<string> {
  const h = createHash('sha256')
  for (const top of ['src', 'protocols']) {
    const files = (await readdir(join(REPO, top), { recursive: true, withFileTypes: true }))
      .filter(e => e.isFile()).map(e => join(e.parentPath, e.name)).sort()
    for (const f of files) h.update(`${f.slice(REPO.length)}\0`).update(await readFile(f)).update('\0')
  }
  return h.digest('hex')
}

async function main (): Promise<number> {
  const sizeMiB = envNum('SIZE_MIB', 1024)
  const scenarios = new Set((process.env.SCENARIOS ?? ALL.join(',')).split(',').map(s => s.trim().toUpperCase()).filter(s => s !== ''))
  const unknown = [...scenarios].filter(s => !ALL.includes(s))
  if (unknown.length > 0) throw new Error(`unknown scenarios ${unknown.join(',')} (known: ${ALL.join(',')})`)
  const tools = new Set((process.env.TOOLS ?? 'raw,ferry,rsync,syncthing').split(',').map(s => s.trim().toLowerCase()))
  const cfg: BenchConfig = {
    size: Math.round(sizeMiB * MiB),
    scenarios,
    timeoutMs: envNum('STEP_TIMEOUT_S', Math.max(600, sizeMiB)) * 1000,
    pollMs: envNum('POLL_MS', 100),
    s5Reps: envNum('S5_REPS', 20)
  }
  if (cfg.size < 4 * MiB) throw new Error('SIZE_MIB must be at least 4')

  // peak disk use is about 4 x the big file (sender, receiver, receiver's temp copy, S4's new file)
  const fs = await statfs(tmpdir())
  const free = fs.bavail * fs.bsize
  const need = 4.5 * cfg.size + 1 * GiB
  if (free < need) throw new Error(`${tmpdir()} has ${(free / GiB).toFixed(1)} GiB free, the run needs about ${(need / GiB).toFixed(1)} GiB`)

  const started = new Date()
  const sourceStart = await sourceDigest()
  log(`transfer bench: scenarios ${[...scenarios].join(',')}, big file ${sizeMiB} MiB, tools ${[...tools].join(',')}, settle ${envNum('MEM_SETTLE_S', 10)} s`)
  const runs: ToolRun[] = []
  const checks = await ensureTools({
    ...(tools.has('rsync') ? { rsync: 'rsync' } : {}),
    ...(tools.has('syncthing') ? { syncthing: 'syncthing' } : {})
  })

  const attempt = async (tool: string, fn: () => Promise<ToolRun>): Promise<void> => {
    if (!tools.has(tool)) return
    const check = checks[tool]
    if (check !== undefined && !check.ok) {
      runs.push({ tool, skipped: check.reason ?? 'not available', notes: [], results: [] })
      return
    }
    log(`=== ${tool}`)
    try {
      const r = await fn()
      if (check?.installed === true) r.notes.push(`${tool} was installed by this run (apt-get)`)
      runs.push(r)
    } catch (err) {
      log(`${tool}: failed: ${errMsg(err)}`)
      runs.push({ tool, skipped: `failed to run: ${errMsg(err)}`, notes: [], results: [] })
    }
  }
  await attempt('raw', async () => await runRawRefs(cfg.size))
  await attempt('ferry', async () => await runFerry(cfg))
  await attempt('rsync', async () => await runRsync(cfg))
  await attempt('syncthing', async () => await runSyncthing(cfg))

  const pkg = JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }
  const sourceEnd = await sourceDigest()
  const sourceNote = sourceEnd === sourceStart ? '' : ' (CHANGED during the run: it started as ' + sourceStart.slice(0, 12) + ')'
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / GiB), kernel: release(), node: process.version }
  const header = [
    `## ferry transfer benchmark, ${started.toISOString()}`,
    '',
    `Big file ${sizeMiB} MiB; machine: ${machine.cpus} cores ${machine.model ?? ''}, ${machine.memGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}; ` +
    [`ferry ${pkg.version} (source digest ${sourceEnd.slice(0, 12)}${sourceNote})`, ...runs.filter(r => r.version !== undefined).map(r => `${r.tool}: ${r.version!}`)].join('; ') + '. ' +
    `Each timed step starts after \`sync\` + ${envNum('MEM_SETTLE_S', 10)} s; completion polled every ${cfg.pollMs} ms. All traffic on 127.0.0.1.`
  ]
  const md = markdown(runs, header)
  const result = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    machine,
    params: { sizeMiB, scenarios: [...scenarios], tools: [...tools], memSettleS: envNum('MEM_SETTLE_S', 10), pollMs: cfg.pollMs, s5Reps: cfg.s5Reps, stepTimeoutS: cfg.timeoutMs / 1000 },
    ferryVersion: pkg.version,
    /** sha256 over ferry's src/ and protocols/ files (path + content) at the start and the end of the run: others edit them concurrently */
    ferrySourceDigest: { start: sourceStart, end: sourceEnd },
    tools: runs,
    ratios: ratios(runs),
    markdown: md
  }
  const dir = join(import.meta.dirname, '..', 'results')
  await mkdir(dir, { recursive: true })
  const file = join(dir, `transfer-${started.toISOString().replace(/[:.]/g, '-')}.json`)
  await writeFile(file, JSON.stringify(result, null, 2) + '\n')
  process.stdout.write(md + '\n\n' + `results: ${file}\n`)
  const failed = runs.flatMap(t => t.results.filter(r => !r.ok && r.skipped === undefined).map(r => `${t.tool} ${r.scenario}`))
  if (failed.length > 0) log(`failed steps: ${failed.join(', ')}`)
  return failed.length > 0 ? 1 : 0
}

let interrupted = false
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return
    interrupted = true
    log(`${sig}: stopping everything this run started and removing its temp dirs`)
    void runCleanups().finally(() => process.exit(130))
  })
}

let code = 1
try {
  code = await main()
} catch (err) {
  log(`bench failed: ${errMsg(err)}`)
  if (process.env.BENCH_DEBUG_STACK !== undefined) process.stderr.write(`${(err as Error).stack ?? ''}\n`)
} finally {
  await runCleanups()
}
process.exit(code)
