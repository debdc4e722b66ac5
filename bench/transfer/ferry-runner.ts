/**
 * ferry side: two real `ferry start` processes (A sends, B receives) on 127.0.0.1 without mDNS,
 * driven through test/helpers/ferry-process.ts. A step is complete when B's folder is in sync
 * with a state hash equal to A's (and different from the one before the change); content is
 * then compared with sha256, outside the timed window.
 */
import { readdir, rename, rm, stat, writeFile, readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { Lab, status, tempFiles, type Device } from '../../test/helpers/ferry-process.ts'
import type { DaemonStatus } from '../../src/daemon/status-types.ts'
import { ProcWatch, type ProcFigures } from './proc-stats.ts'
import { SocketTracker } from './sockets.ts'
import { applyPatchInPlace, BIG_SEED, makeSmallTree, patchFor, S7_SEED, sha256File, treeDigest, writeInsertedCopy, writeKeystreamFile } from './datasets.ts'
import type { BenchConfig, Latency, ScenarioResult, ToolRun } from './types.ts'
import { runRelay } from './relay-runner.ts'
import { errMsg, idleRss, log, makeTempDir, registerTempDir, memSettle, onCleanup, percentile, removeTempDir, round, sleep, track, until, withTimeout, MiB } from './util.ts'

const pidOf = (d: Device): number => {
  const pid = d.process?.pid
  if (pid === undefined) throw new Error(`${d.name} is not running`)
  return pid
}

const folderOf = (s: DaemonStatus): DaemonStatus['folders'][number] => {
  const f = s.folders[0]
  if (f === undefined) throw new Error('daemon reports no folder')
  return f
}

const sumReceived = (s: DaemonStatus): number => Object.values(s.receivedBytes).reduce((x, y) => x + y, 0)

function logTail (d: Device, lines = 25): string[] {
  return d.log.trimEnd().split('\n').slice(-lines)
}

/** the daemon's log lines since `offset` (what it printed during a step), at most `max` */
function logSince (d: Device, offset: number, max = 40): string[] {
  const lines = d.log.slice(offset).split('\n').filter(l => l.trim() !== '')
  return lines.length > max ? [...lines.slice(0, max / 2), `... ${lines.length - max} lines ...`, ...lines.slice(-max / 2)] : lines
}

/** `ferry start`, bounded in time; the daemon is killed by PID if the bench exits */
async function startDaemon (lab: Lab, d: Device): Promise<void> {
  await withTimeout(lab.start(d), 60_000, () => `ferry ${d.name} to start\n${d.log.slice(-2000)}`)
  track(d.process)
}

/** a connected, in-sync pair, started */
async function startPair (lab: Lab): Promise<[Device, Device]> {
  const a = await lab.device('a')
  registerTempDir(resolve(a.home, '..', '..')) // the Lab's root, in case we exit before lab.cleanup()
  const b = await lab.device('b')
  await lab.pair(a, b)
  await startDaemon(lab, a)
  await startDaemon(lab, b)
  await until('ferry a and b connected', async () => {
    const [sa, sb] = await Promise.all([status(a), status(b)])
    return sa.peers.every(p => p.connected) && sb.peers.every(p => p.connected) ? true : undefined
  }, 60_000, 100)
  return [a, b]
}

interface SyncState { hash: string, aScannedMs?: number }

/**
 * Waits until B (and A) are in sync with equal state hashes other than `notHash`. Records when A's
 * hash first moved away from `notHash` with A not scanning (A has recorded the change).
 */
async function waitSynced (a: Device, b: Device, notHash: string | undefined, timeoutMs: number, pollMs: number, t0 = performance.now()): Promise<SyncState> {
  let last = ''
  let aScannedMs: number | undefined
  const h = await until('ferry B in sync with A', async () => {
    const [sa, sb] = await Promise.all([status(a), status(b)])
    const fa = folderOf(sa)
    const fb = folderOf(sb)
    if (aScannedMs === undefined && fa.stateHash !== notHash && !fa.scanning) aScannedMs = performance.now() - t0
    last = `A ${JSON.stringify({ inSync: fa.inSync, scanning: fa.scanning, needFiles: fa.needFiles, localFiles: fa.localFiles, localBytes: fa.localBytes, hash: fa.stateHash.slice(0, 8) })} ` +
      `B ${JSON.stringify({ inSync: fb.inSync, scanning: fb.scanning, needFiles: fb.needFiles, needBytes: fb.needBytes, localFiles: fb.localFiles, localBytes: fb.localBytes, hash: fb.stateHash.slice(0, 8), receivedBytes: sumReceived(sb) })}`
    return fa.inSync && fb.inSync && fa.stateHash === fb.stateHash && fa.stateHash !== notHash ? fa.stateHash : undefined
  }, timeoutMs, pollMs, () => last)
  return { hash: h, ...(aScannedMs === undefined ? {} : { aScannedMs }) }
}

interface StepSpec {
  scenario: string
  fileBytes?: number
  /** untimed preparation (after the pair is in sync, before the settle pause) */
  prepare?: () => Promise<void>
  /** the timed change on A */
  change: () => Promise<void>
  /** untimed check afterwards */
  verify?: () => Promise<{ verified: boolean, details?: Record<string, unknown> }>
}

export async function runFerry (cfg: BenchConfig): Promise<ToolRun> {
  const run: ToolRun = { tool: 'ferry', notes: [], results: [] }
  const want = (s: string): boolean => cfg.scenarios.has(s)
  const needBig = ['S1', 'S3', 'S4', 'S6'].some(want)
  if (needBig || want('S2') || want('S5')) await mainChain(cfg, run, needBig)
  if (want('S7')) await killResume(cfg, run)
  if (want('R1') || want('R2')) await runRelay(cfg, run)
  return run
}

async function mainChain (cfg: BenchConfig, run: ToolRun, needBig: boolean): Promise<void> {
  const lab = new Lab()
  await lab.setup()
  const unregister = onCleanup('ferry lab', async () => await lab.cleanup())
  const staging = await makeTempDir('ferry-bench-stage-')
  try {
    log('ferry: starting two daemons on 127.0.0.1 (no mDNS)')
    const [a, b] = await withTimeout(startPair(lab), 180_000, 'ferry pair setup')
    await waitSynced(a, b, undefined, 60_000, cfg.pollMs)
    run.notes.push(`A ${a.addr} pid ${pidOf(a)}, B ${b.addr} pid ${pidOf(b)}`)

    const step = async (spec: StepSpec): Promise<ScenarioResult> => {
      const r: ScenarioResult = { scenario: spec.scenario, tool: 'ferry', ok: false }
      const before = await waitSynced(a, b, undefined, cfg.timeoutMs, cfg.pollMs)
      await spec.prepare?.()
      await memSettle()
      const [sa0, sb0] = await Promise.all([status(a), status(b)])
      const pa = new ProcWatch(pidOf(a))
      const pb = new ProcWatch(pidOf(b))
      pa.start(); pb.start()
      const tracker = new SocketTracker({ A: { pids: [pidOf(a)] }, B: { pids: [pidOf(b)] } })
      await tracker.start()
      const logOff = [a.log.length, b.log.length] as const
      const t0 = performance.now()
      let wireDone = false
      try {
        await spec.change()
        const changeMs = performance.now() - t0
        const done = await waitSynced(a, b, before.hash, cfg.timeoutMs, cfg.pollMs, t0)
        r.timeS = (performance.now() - t0) / 1000
        r.wire = await tracker.stop()
        wireDone = true
        r.details = { changeS: round(changeMs / 1000, 4), aRecordedS: round((done.aScannedMs ?? Number.NaN) / 1000), logA: logSince(a, logOff[0]), logB: logSince(b, logOff[1]) }
        r.ok = true
      } catch (err) {
        r.error = errMsg(err)
        r.details = { logA: logSince(a, logOff[0]), logB: logSince(b, logOff[1]), logTailA: logTail(a), logTailB: logTail(b) }
      } finally {
        if (!wireDone) r.wire = await tracker.stop()
      }
      r.procs = { A: pa.finish(), B: pb.finish() }
      const [sa1, sb1] = await Promise.all([status(a), status(b)])
      r.counter = { what: 'ferry status receivedBytes (block bytes)', receivedB: sumReceived(sb1) - sumReceived(sb0), sentB: sumReceived(sa1) - sumReceived(sa0) }
      if (spec.fileBytes !== undefined) {
        r.fileBytes = spec.fileBytes
        if (r.timeS !== undefined) r.mbps = round(spec.fileBytes / r.timeS / 1e6, 1)
      }
      if (r.ok && spec.verify !== undefined) {
        const v = await spec.verify()
        r.verified = v.verified
        r.details = { ...r.details, ...v.details }
        if (!v.verified) r.ok = false
      }
      // what each daemon keeps once the sync is over (the idle-after-sync target)
      if (r.ok && (spec.scenario === 'S1' || spec.scenario === 'S2')) r.details = { ...r.details, idleRssKiB: await idleRss({ A: pidOf(a), B: pidOf(b) }) }
      log(`ferry ${spec.scenario}: ${r.ok ? `${r.timeS?.toFixed(2)} s` : `FAILED ${r.error ?? 'verification'}`}, B socket in ${((r.wire?.B?.received ?? 0) / MiB).toFixed(1)} MiB, block bytes ${((r.counter?.receivedB ?? 0) / MiB).toFixed(1)} MiB`)
      run.results.push(r)
      return r
    }

    const sameFile = async (name: string, expected?: string, absent?: string): Promise<{ verified: boolean, details: Record<string, unknown> }> => {
      const [ha, hb] = await Promise.all([sha256File(join(a.folder, name)), sha256File(join(b.folder, name)).catch(() => 'missing')])
      const goneOk = absent === undefined ? true : !(await readdir(b.folder)).includes(absent)
      return { verified: ha === hb && (expected === undefined || ha === expected) && goneOk, details: { sha256A: ha.slice(0, 16), sha256B: hb.slice(0, 16), ...(absent === undefined ? {} : { oldNameGoneOnB: goneOk }) } }
    }

    // ---- S1, S3, S4, S6 on one big file
    let bigOk = true
    if (needBig) {
      const stg = join(staging, 'big.bin')
      let sha = ''
      const s1 = await step({
        scenario: 'S1',
        fileBytes: cfg.size,
        prepare: async () => {
          log(`ferry S1: generating ${(cfg.size / MiB).toFixed(0)} MiB file`)
          sha = await writeKeystreamFile(stg, cfg.size, BIG_SEED)
        },
        change: async () => { await rename(stg, join(a.folder, 'big.bin')) },
        verify: async () => await sameFile('big.bin', sha)
      })
      bigOk = s1.ok
      const skip = (s: string): void => {
        if (cfg.scenarios.has(s)) run.results.push({ scenario: s, tool: 'ferry', ok: false, skipped: 'S1 (its starting point) failed' })
      }
      if (bigOk && cfg.scenarios.has('S3')) {
        const patch = patchFor(cfg.size)
        const r = await step({
          scenario: 'S3',
          fileBytes: cfg.size,
          change: async () => { await applyPatchInPlace(join(a.folder, 'big.bin'), patch) },
          verify: async () => await sameFile('big.bin')
        })
        if (r.details !== undefined) r.details.patch = { offset: patch.offset, bytes: patch.data.length }
        bigOk = r.ok
      } else skip('S3')
      if (bigOk && cfg.scenarios.has('S4')) {
        const stg4 = join(staging, 'big.bin.new')
        const r = await step({
          scenario: 'S4',
          fileBytes: cfg.size + 1,
          prepare: async () => { await writeInsertedCopy(join(a.folder, 'big.bin'), stg4) },
          change: async () => { await rename(stg4, join(a.folder, 'big.bin')) },
          verify: async () => await sameFile('big.bin')
        })
        bigOk = r.ok
      } else skip('S4')
      if (bigOk && cfg.scenarios.has('S6')) {
        const size = (await stat(join(a.folder, 'big.bin'))).size
        const r = await step({
          scenario: 'S6',
          fileBytes: size,
          change: async () => { await rename(join(a.folder, 'big.bin'), join(a.folder, 'big-renamed.bin')) },
          verify: async () => await sameFile('big-renamed.bin', undefined, 'big.bin')
        })
        bigOk = r.ok
      } else skip('S6')
      // aux: delete the big file so S2/S5 start from a small folder (not reported in the table)
      if (bigOk) {
        const name = (await readdir(a.folder)).find(n => n.startsWith('big'))
        if (name !== undefined) {
          await step({
            scenario: 'aux-delete-big',
            change: async () => { await rm(join(a.folder, name)) },
            verify: async () => ({ verified: !(await readdir(b.folder)).includes(name) })
          })
        }
      }
    }

    // ---- S2: 10,000 small files
    if (cfg.scenarios.has('S2')) {
      const stg = join(staging, 'small')
      let counts = { files: 0, bytes: 0 }
      const r = await step({
        scenario: 'S2',
        prepare: async () => {
          log('ferry S2: generating 10,000 files')
          counts = await makeSmallTree(stg)
        },
        change: async () => { await rename(stg, join(a.folder, 'small')) },
        verify: async () => {
          const [da, db] = await Promise.all([treeDigest(join(a.folder, 'small')), treeDigest(join(b.folder, 'small')).catch(() => undefined)])
          return { verified: db !== undefined && da.digest === db.digest && da.files === counts.files && da.bytes === counts.bytes, details: { filesB: db?.files, bytesB: db?.bytes } }
        }
      })
      r.fileBytes = counts.bytes
      if (r.timeS !== undefined) r.mbps = round(counts.bytes / r.timeS / 1e6, 1)
      r.details = { ...r.details, dataset: counts }
    }

    // ---- S5: change-to-visible latency of a new 1 KiB file (watcher only)
    if (cfg.scenarios.has('S5')) {
      const r: ScenarioResult = { scenario: 'S5', tool: 'ferry', ok: false }
      const pa = new ProcWatch(pidOf(a))
      const pb = new ProcWatch(pidOf(b))
      const samples: number[] = []
      await waitSynced(a, b, undefined, cfg.timeoutMs, cfg.pollMs)
      pa.start(); pb.start()
      const tracker = new SocketTracker({ A: { pids: [pidOf(a)] }, B: { pids: [pidOf(b)] } })
      await tracker.start()
      try {
        for (let i = 0; i < cfg.s5Reps; i++) {
          await waitSynced(a, b, undefined, 60_000, 20)
          await sleep(300)
          const name = `s5-${String(i).padStart(2, '0')}.bin`
          const body = randomBytes(1024)
          const t0 = performance.now()
          await writeFile(join(a.folder, name), body)
          await until(`S5 file ${name} on B`, async () => {
            const got = await readFile(join(b.folder, name)).catch(() => undefined)
            return got !== undefined && got.equals(body) ? true : undefined
          }, 60_000, 5)
          samples.push(performance.now() - t0)
        }
        r.ok = true
      } catch (err) {
        r.error = errMsg(err)
        r.details = { logA: logTail(a), logB: logTail(b) }
      }
      r.wire = await tracker.stop()
      r.procs = { A: pa.finish(), B: pb.finish() }
      r.latency = latencyOf(samples)
      log(`ferry S5: p50 ${r.latency.p50Ms.toFixed(0)} ms, p95 ${r.latency.p95Ms.toFixed(0)} ms over ${samples.length} tries`)
      run.results.push(r)
    }
  } catch (err) {
    run.notes.push(`ferry run aborted: ${errMsg(err)}`)
    log(`ferry: aborted: ${errMsg(err)}`)
  } finally {
    await lab.cleanup()
    unregister()
    await removeTempDir(staging)
  }
}

export function latencyOf (samples: number[]): Latency {
  const s = [...samples].sort((x, y) => x - y)
  return {
    reps: s.length,
    p50Ms: round(percentile(s, 50), 1) ?? Number.NaN,
    p95Ms: round(percentile(s, 95), 1) ?? Number.NaN,
    minMs: round(s[0], 1) ?? Number.NaN,
    maxMs: round(s.at(-1), 1) ?? Number.NaN,
    samplesMs: samples.map(x => round(x, 1) ?? Number.NaN)
  }
}

/**
 * S7: the S1 transfer on a fresh pair; B is SIGKILLed once its block counter passes half the
 * file, restarted at once, and the step ends when B is in sync. Wire bytes add up both B
 * processes (the first read right before the kill, plus what A's end of the connection says
 * B's kernel acknowledged).
 */
async function killResume (cfg: BenchConfig, run: ToolRun): Promise<void> {
  const lab = new Lab()
  await lab.setup()
  const unregister = onCleanup('ferry lab S7', async () => await lab.cleanup())
  const staging = await makeTempDir('ferry-bench-stage7-')
  const r: ScenarioResult = { scenario: 'S7', tool: 'ferry', ok: false, fileBytes: cfg.size }
  try {
    log('ferry S7: fresh pair')
    const [a, b] = await withTimeout(startPair(lab), 180_000, 'ferry pair setup')
    const before = await waitSynced(a, b, undefined, 60_000, cfg.pollMs)
    const stg = join(staging, 'big.bin')
    log(`ferry S7: generating ${(cfg.size / MiB).toFixed(0)} MiB file`)
    const sha = await writeKeystreamFile(stg, cfg.size, S7_SEED)
    await memSettle()
    const pa = new ProcWatch(pidOf(a))
    const pb = new ProcWatch(pidOf(b))
    pa.start(); pb.start()
    const tracker = new SocketTracker({ A: { pids: [pidOf(a)] }, B: { pids: [pidOf(b)] } })
    await tracker.start()
    const logOffA = a.log.length
    let logB1: string[] = []
    const t0 = performance.now()
    let procs: Record<string, ProcFigures> | undefined
    try {
      await rename(stg, join(a.folder, 'big.bin'))
      // kill B at ~50% of the file's block bytes
      const atKill = await until('B to receive half the file', async () => {
        const s = await status(b)
        const n = sumReceived(s)
        return n >= cfg.size / 2 ? { received: n, status: s } : undefined
      }, cfg.timeoutMs, 20)
      // last readings right before the kill: B's block counter, then the sockets
      atKill.received = Math.max(atKill.received, sumReceived(await status(b)))
      await tracker.poll()
      pb.beforeExit()
      const killMs = performance.now() - t0
      const oldPid = pidOf(b)
      await lab.stop(b, 'SIGKILL')
      logB1 = logSince(b, 0)
      await tracker.poll()
      const partFiles = (await tempFiles(b.folder)).map(f => f.slice(join(b.folder, '.ferry', 'tmp').length + 1))
      const tRestart = performance.now()
      await startDaemon(lab, b)
      const restartMs = performance.now() - tRestart
      pb.replace(pidOf(b))
      tracker.addPid('B', pidOf(b))
      log(`ferry S7: killed B (pid ${oldPid}) at ${(killMs / 1000).toFixed(2)} s with ${(atKill.received / MiB).toFixed(0)} MiB of blocks, restarted in ${(restartMs / 1000).toFixed(2)} s`)
      await waitSynced(a, b, before.hash, cfg.timeoutMs, cfg.pollMs, t0)
      r.timeS = (performance.now() - t0) / 1000
      r.wire = await tracker.stop()
      procs = { A: pa.finish(), B: pb.finish() }
      const after = sumReceived(await status(b))
      r.counter = { what: 'ferry status receivedBytes (block bytes), both B processes', receivedB: atKill.received + after }
      r.mbps = round(cfg.size / r.timeS / 1e6, 1)
      const [ha, hb] = await Promise.all([sha256File(join(a.folder, 'big.bin')), sha256File(join(b.folder, 'big.bin')).catch(() => 'missing')])
      r.verified = ha === sha && hb === sha
      r.ok = r.verified
      r.details = {
        killAtS: round(killMs / 1000),
        blockBytesBeforeKill: atKill.received,
        blockBytesAfterRestart: after,
        restartS: round(restartMs / 1000),
        afterRestartS: round(r.timeS - (tRestart + restartMs - t0) / 1000),
        partFilesAfterKill: partFiles,
        receivedOverFileSize: round((r.wire.B?.received ?? Number.NaN) / cfg.size),
        logA: logSince(a, logOffA),
        logBKilled: logB1,
        logBRestarted: logSince(b, 0),
        note: 'B wire bytes = B before the kill (last ss read just before SIGKILL, or A\'s end of that connection if larger) + the restarted B'
      }
    } catch (err) {
      r.error = errMsg(err)
      r.details = { ...r.details, logA: logTail(a), logB: logTail(b) }
      r.wire ??= await tracker.stop()
    }
    r.procs = procs ?? { A: pa.finish(), ...(b.process === undefined ? {} : { B: pb.finish() }) }
    log(`ferry S7: ${r.ok ? `${r.timeS?.toFixed(2)} s` : `FAILED ${r.error ?? 'verification'}`}, B socket in ${((r.wire?.B?.received ?? 0) / MiB).toFixed(1)} MiB`)
  } catch (err) {
    r.error = errMsg(err)
  } finally {
    run.results.push(r)
    await lab.cleanup()
    unregister()
    await removeTempDir(staging)
  }
}
