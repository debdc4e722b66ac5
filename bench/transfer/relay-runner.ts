/**
 * R1/R2: ferry through its relay, the store-and-forward path between devices never online
 * together. R1: device A, alone with the relay, uploads the big file (timed from the moment A has
 * recorded it until the relay acknowledged every block and record: A's `replicaInSync`). R2: A is
 * stopped; a new device B, with only the relay online, downloads it (timed from B's start until
 * B's folder is in sync and holds the file). Content is compared with sha256 afterwards.
 * Figures per step: MB/s, CPU seconds per GiB of the relay and of the device, peak RSS of each
 * process (VmHWM, reset per step), and the RSS of each process idle after the step.
 */
import { rename, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Lab, status, type Device } from '../../test/helpers/ferry-process.ts'
import { RelayLab, relayStatus, useRelay, type Relay } from '../../test/helpers/relay-process.ts'
import type { DaemonStatus } from '../../src/daemon/status-types.ts'
import { ProcWatch, type ProcFigures } from './proc-stats.ts'
import { SocketTracker } from './sockets.ts'
import { BIG_SEED, sha256File, writeKeystreamFile } from './datasets.ts'
import type { BenchConfig, ScenarioResult, ToolRun } from './types.ts'
import { errMsg, GiB, idleRss, log, makeTempDir, memSettle, MiB, onCleanup, registerTempDir, removeTempDir, round, track, until, withTimeout } from './util.ts'

const pidOf = (p: { name: string, process?: { pid?: number } }): number => {
  const pid = p.process?.pid
  if (pid === undefined) throw new Error(`${p.name} is not running`)
  return pid
}

const folderOf = (s: DaemonStatus): DaemonStatus['folders'][number] => {
  const f = s.folders[0]
  if (f === undefined) throw new Error('daemon reports no folder')
  return f
}

/** per-process figures of one step, with CPU seconds per GiB of the file */
function perGiB (procs: Record<string, ProcFigures>, bytes: number): Record<string, number> {
  return Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, round(p.cpuS / (bytes / GiB), 2) ?? Number.NaN]))
}

export async function runRelay (cfg: BenchConfig, run: ToolRun): Promise<void> {
  const lab = new Lab()
  const relays = new RelayLab()
  await lab.setup()
  await relays.setup()
  const unregister = onCleanup('ferry relay labs', async () => { await lab.cleanup(); await relays.cleanup() })
  const staging = await makeTempDir('ferry-bench-relay-')
  try {
    log('ferry R1: relay and device A on 127.0.0.1')
    const r: Relay = await withTimeout(relays.relay('relay'), 60_000, 'relay start')
    track(r.process)
    registerTempDir(resolve(r.home, '..'))
    const a = await lab.device('a')
    registerTempDir(resolve(a.home, '..', '..'))
    const b = await lab.device('b')
    await lab.pair(a, b)
    await useRelay(a, r)
    await useRelay(b, r)
    await withTimeout(lab.start(a), 60_000, 'ferry a to start')
    track(a.process)
    await until('A connected to the relay', async () => folderOf(await status(a)).replicaInSync === true ? true : undefined, 60_000, 100)

    // ---- R1: A uploads the big file
    const stg = join(staging, 'big.bin')
    log(`ferry R1: generating ${(cfg.size / MiB).toFixed(0)} MiB file`)
    const sha = await writeKeystreamFile(stg, cfg.size, BIG_SEED)
    const r1: ScenarioResult = { scenario: 'R1', tool: 'ferry', ok: false, fileBytes: cfg.size }
    await memSettle()
    const relay0 = await relayStatus(r)
    const pr = new ProcWatch(pidOf(r))
    const pa = new ProcWatch(pidOf(a))
    pr.start(); pa.start()
    const tracker = new SocketTracker({ relay: { pids: [pidOf(r)] }, A: { pids: [pidOf(a)] } })
    await tracker.start()
    const t0 = performance.now()
    let recordedMs: number | undefined
    try {
      await rename(stg, join(a.folder, 'big.bin'))
      await until('A uploaded to the relay', async () => {
        const f = folderOf(await status(a))
        const recorded = f.localFiles === 1 && !f.scanning
        if (recorded && recordedMs === undefined) recordedMs = performance.now() - t0
        return recorded && f.replicaInSync === true ? true : undefined
      }, cfg.timeoutMs, cfg.pollMs)
      const totalMs = performance.now() - t0
      r1.wire = await tracker.stop()
      r1.procs = { relay: pr.finish(), A: pa.finish() }
      const uploadS = (totalMs - (recordedMs ?? 0)) / 1000
      r1.timeS = round(uploadS)
      r1.mbps = round(cfg.size / uploadS / 1e6, 1)
      const got = (await relayStatus(r)).receivedBlockBytes - relay0.receivedBlockBytes
      r1.counter = { what: 'relay status receivedBlockBytes', receivedB: got }
      r1.verified = got >= cfg.size
      r1.ok = r1.verified
      r1.details = { fromRenameS: round(totalMs / 1000), aRecordedS: round((recordedMs ?? Number.NaN) / 1000), cpuSPerGiB: perGiB(r1.procs, cfg.size), idleRssKiB: await idleRss({ relay: pidOf(r), A: pidOf(a) }) }
    } catch (err) {
      r1.error = errMsg(err)
      r1.wire ??= await tracker.stop()
      r1.procs ??= { relay: pr.finish(), A: pa.finish() }
      r1.details = { logA: a.log.split('\n').slice(-25), logRelay: r.log.split('\n').slice(-25) }
    }
    log(`ferry R1: ${r1.ok ? `${r1.timeS?.toFixed(2)} s, ${r1.mbps} MB/s` : `FAILED ${r1.error ?? 'relay holds fewer block bytes than the file'}`}`)
    run.results.push(r1)
    if (!r1.ok) {
      if (cfg.scenarios.has('R2')) run.results.push({ scenario: 'R2', tool: 'ferry', ok: false, skipped: 'R1 (its starting point) failed' })
      return
    }
    if (!cfg.scenarios.has('R2')) return

    // ---- R2: A goes away; B downloads from the relay alone
    await lab.stop(a)
    const r2: ScenarioResult = { scenario: 'R2', tool: 'ferry', ok: false, fileBytes: cfg.size }
    await memSettle()
    pr.start()
    const tracker2 = new SocketTracker({ relay: { pids: [pidOf(r)] } })
    await tracker2.start()
    const t1 = performance.now()
    let pb: ProcWatch | undefined
    try {
      await withTimeout(lab.start(b), 60_000, 'ferry b to start')
      track(b.process)
      const startedMs = performance.now() - t1
      pb = new ProcWatch(pidOf(b))
      pb.start()
      await until('B downloaded from the relay', async () => {
        const f = folderOf(await status(b))
        return f.inSync && f.localFiles === 1 && f.needFiles === 0 ? true : undefined
      }, cfg.timeoutMs, cfg.pollMs)
      const totalMs = performance.now() - t1
      r2.wire = await tracker2.stop()
      r2.procs = { relay: pr.finish(), B: pb.finish() }
      const downloadS = (totalMs - startedMs) / 1000
      r2.timeS = round(downloadS)
      r2.mbps = round(cfg.size / downloadS / 1e6, 1)
      r2.counter = { what: 'ferry status receivedBytes (block bytes)', receivedB: Object.values((await status(b)).receivedBytes).reduce((x, y) => x + y, 0) }
      const hb = await sha256File(join(b.folder, 'big.bin')).catch(() => 'missing')
      r2.verified = hb === sha && (await stat(join(b.folder, 'big.bin'))).size === cfg.size
      r2.ok = r2.verified
      r2.details = { startS: round(startedMs / 1000), fromStartS: round(totalMs / 1000), cpuSPerGiB: perGiB(r2.procs, cfg.size), idleRssKiB: await idleRss({ relay: pidOf(r), B: pidOf(b) }), sha256B: hb.slice(0, 16) }
    } catch (err) {
      r2.error = errMsg(err)
      r2.wire ??= await tracker2.stop()
      r2.procs ??= { relay: pr.finish(), ...(pb === undefined ? {} : { B: pb.finish() }) }
      r2.details = { logB: b.log.split('\n').slice(-25), logRelay: r.log.split('\n').slice(-25) }
    }
    log(`ferry R2: ${r2.ok ? `${r2.timeS?.toFixed(2)} s, ${r2.mbps} MB/s` : `FAILED ${r2.error ?? 'content differs'}`}`)
    run.results.push(r2)
  } catch (err) {
    run.notes.push(`ferry relay run aborted: ${errMsg(err)}`)
    log(`ferry relay: aborted: ${errMsg(err)}`)
  } finally {
    await lab.cleanup()
    await relays.cleanup()
    unregister()
    await removeTempDir(staging)
  }
}

export type { Device }
