/**
 * rsync reference: `rsync --daemon --no-detach` on 127.0.0.1 (module `bench`, no auth, plain TCP),
 * the client pushes `src/` to it. Time = the client command's wall time (it scans, transfers and
 * finishes in one go: there is no watcher). Bytes from `--stats`. Client CPU from bash's
 * `times` (children of the wrapper shell), daemon-side CPU from the daemon's reaped children.
 * rsync does not fsync by default: S1 is also run with `--fsync` (extra row), like ferry does.
 */
import { createConnection } from 'node:net'
import { readFileSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { childCpuSeconds } from './proc-stats.ts'
import { applyPatchInPlace, BIG_SEED, makeSmallTree, patchFor, sha256File, treeDigest, writeInsertedCopy, writeKeystreamFile } from './datasets.ts'
import type { BenchConfig, ScenarioResult, ToolRun } from './types.ts'
import { errMsg, freePort, log, makeTempDir, memSettle, MiB, onCleanup, removeTempDir, round, run as runCmd, sleep, spawnTracked, stopChild, until } from './util.ts'
import { dpkgVersion } from './install.ts'

const STAT_KEYS: Record<string, string> = {
  'Number of regular files transferred': 'filesTransferred',
  'Total file size': 'totalFileSize',
  'Literal data': 'literalData',
  'Matched data': 'matchedData',
  'File list size': 'fileListSize',
  'Total bytes sent': 'bytesSent',
  'Total bytes received': 'bytesReceived'
}

function parseStats (txt: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of txt.split('\n')) {
    const i = line.indexOf(':')
    if (i < 0) continue
    const key = STAT_KEYS[line.slice(0, i).trim()]
    const m = /^\s*([\d,]+)/.exec(line.slice(i + 1))
    if (key !== undefined && m !== null) out[key] = Number(m[1]!.replace(/,/g, ''))
  }
  return out
}

const bashTime = (s: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(s)
  return m === null ? Number.NaN : Number(m[1]) * 60 + Number(m[2])
}

function daemonChildren (pid: number): number[] {
  try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(x => x !== '').map(Number) } catch { return [] }
}

export async function runRsync (cfg: BenchConfig): Promise<ToolRun> {
  const out: ToolRun = { tool: 'rsync', notes: [], results: [] }
  const ver = await runCmd('rsync', ['--version'], { timeoutMs: 10_000 })
  out.version = `${ver.stdout.split('\n')[0]?.trim() ?? '?'} (deb ${await dpkgVersion('rsync') ?? '?'})`
  const want = (s: string): boolean => cfg.scenarios.has(s)
  if (!['S1', 'S2', 'S3', 'S4'].some(want)) return out

  const work = await makeTempDir('ferry-bench-rsync-')
  const src = join(work, 'src')
  const dst = join(work, 'dst')
  await mkdir(src)
  await mkdir(dst)
  const port = await freePort()
  await writeFile(join(work, 'rsyncd.conf'), [
    '# ferry transfer bench: loopback only, no auth, read-write',
    'use chroot = no',
    'max connections = 4',
    `log file = ${join(work, 'rsyncd.log')}`,
    `pid file = ${join(work, 'rsyncd.pid')}`,
    '[bench]',
    `    path = ${dst}`,
    '    read only = no',
    '    list = no',
    '    uid = root',
    '    gid = root',
    ''
  ].join('\n'))
  // --no-detach keeps the daemon as our child: its PID is the one we stop
  const daemon = spawnTracked('rsync', ['--daemon', '--no-detach', '--address=127.0.0.1', `--port=${port}`, `--config=${join(work, 'rsyncd.conf')}`])
  let daemonLog = ''
  daemon.stderr!.on('data', (d: Buffer) => { daemonLog += d.toString() })
  daemon.stdout!.on('data', (d: Buffer) => { daemonLog += d.toString() })
  const unregister = onCleanup('rsync daemon', async () => await stopChild(daemon))
  const url = `rsync://127.0.0.1:${port}/bench/`
  try {
    await until('rsync daemon listening', async () => await new Promise<true | undefined>(resolve => {
      const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(undefined))
    }), 30_000, 100, () => daemonLog)
    const daemonPid = daemon.pid!
    out.notes.push(`rsync daemon pid ${daemonPid} on 127.0.0.1:${port}, client: rsync -a --stats <src> ${url}`)
    log(`rsync: daemon pid ${daemonPid} on 127.0.0.1:${port}`)

    const timed = async (scenario: string, args: string[], fileBytes: number, verify: () => Promise<boolean>, prepare?: () => Promise<void>): Promise<ScenarioResult> => {
      const r: ScenarioResult = { scenario, tool: 'rsync', ok: false, fileBytes }
      try {
        await prepare?.()
        await memSettle()
        const srv0 = childCpuSeconds(daemonPid)
        const cmd = ['-a', '--stats', ...args]
        const res = await runCmd('bash', ['-c', 'rsync "$@"; rc=$?; times; exit $rc', 'bash', ...cmd], { timeoutMs: cfg.timeoutMs })
        r.timeS = res.ms / 1000
        if (res.code !== 0) throw new Error(`rsync exited ${res.code}: ${res.stderr.trim().slice(-500)}`)
        const deadline = Date.now() + 5_000
        while (daemonChildren(daemonPid).length > 0 && Date.now() < deadline) await sleep(20)
        const times = res.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/)
        const stats = parseStats(res.stdout)
        r.mbps = round(fileBytes / r.timeS / 1e6, 1)
        // B = the daemon: it received what the client sent
        r.counter = { what: 'rsync --stats: client\'s total bytes sent (= into B) / received (= out of B)', receivedB: stats.bytesSent ?? Number.NaN, sentB: stats.bytesReceived ?? Number.NaN }
        r.procs = {
          client: { cpuS: round(bashTime(times[0]!) + bashTime(times[1]!), 2) ?? Number.NaN, peakRssKiB: Number.NaN, rssEndKiB: Number.NaN, hwmReset: false, pids: [] },
          daemon: { cpuS: round(childCpuSeconds(daemonPid) - srv0, 2) ?? Number.NaN, peakRssKiB: Number.NaN, rssEndKiB: Number.NaN, hwmReset: false, pids: [daemonPid] }
        }
        r.details = { cmd: `rsync ${cmd.join(' ')}`, stats }
        r.verified = await verify()
        r.ok = r.verified
      } catch (err) {
        r.error = errMsg(err)
        r.details = { ...r.details, daemonLog: daemonLog.slice(-2000) }
      }
      log(`rsync ${scenario}: ${r.ok ? `${r.timeS?.toFixed(2)} s` : `FAILED ${r.error ?? 'verification'}`}, client sent ${((r.counter?.receivedB ?? 0) / MiB).toFixed(2)} MiB`)
      out.results.push(r)
      return r
    }

    const sBig = join(src, 'big.bin')
    const dBig = join(dst, 'big.bin')
    const same = async (): Promise<boolean> => {
      const [a, b] = await Promise.all([sha256File(sBig), sha256File(dBig).catch(() => 'missing')])
      return a === b
    }
    if (['S1', 'S3', 'S4'].some(want)) {
      log(`rsync: generating ${(cfg.size / MiB).toFixed(0)} MiB file`)
      await writeKeystreamFile(sBig, cfg.size, BIG_SEED)
      const s1 = await timed('S1', [sBig, url], cfg.size, same)
      if (s1.ok) {
        // the same with --fsync (ferry and Syncthing fsync what they write)
        await rm(dBig)
        await timed('S1-fsync', ['--fsync', sBig, url], cfg.size, same)
      }
      if (s1.ok && want('S3')) {
        const patch = patchFor(cfg.size)
        await timed('S3', [sBig, url], cfg.size, same, async () => { await applyPatchInPlace(sBig, patch) })
      }
      if (s1.ok && want('S4')) {
        await timed('S4', [sBig, url], cfg.size + 1, same, async () => {
          await writeInsertedCopy(sBig, sBig + '.new')
          await rename(sBig + '.new', sBig)
        })
      }
      await rm(sBig, { force: true })
      await rm(dBig, { force: true })
    }
    if (want('S2')) {
      const small = join(src, 'small')
      let counts = { files: 0, bytes: 0 }
      log('rsync S2: generating 10,000 files')
      counts = await makeSmallTree(small)
      await timed('S2', [small, url], counts.bytes, async () => {
        const [a, b] = await Promise.all([treeDigest(small), treeDigest(join(dst, 'small')).catch(() => undefined)])
        return b !== undefined && a.digest === b.digest && b.files === counts.files
      })
    }
  } catch (err) {
    out.notes.push(`rsync run aborted: ${errMsg(err)}`)
    log(`rsync: aborted: ${errMsg(err)}`)
  } finally {
    await stopChild(daemon)
    unregister()
    await removeTempDir(work)
  }
  return out
}
