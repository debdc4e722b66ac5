/**
 * Syncthing reference: two `syncthing serve` instances (A -> B) on loopback, configured like the
 * anchors (../shared/anchors/stbench.py): config.xml rewritten before the first start with
 * GUI/REST and sync listeners on 127.0.0.1 only, a static peer address, global/local discovery,
 * relays, NAT, usage and crash reporting and auto-upgrade off, one sendreceive folder with
 * Syncthing's defaults. STMONITORED=yes runs the worker without the monitor process, so the PID
 * we hold is the one doing the work.
 *
 * S1-S4 (+S6): change on A, then POST /rest/db/scan on A (returns when A has hashed it), then B is
 * polled until it has A's index sequence, is idle, needs nothing and its global and local counts
 * equal A's. S5: watcher only (no scan call), fsWatcherDelayS=1 and, fewer tries, the default 10 s.
 */
import { readFile, rename, rm, writeFile, mkdir, stat } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { ProcWatch } from './proc-stats.ts'
import { SocketTracker, listTcp } from './sockets.ts'
import { applyPatchInPlace, BIG_SEED, makeSmallTree, patchFor, sha256File, treeDigest, writeInsertedCopy, writeKeystreamFile } from './datasets.ts'
import { latencyOf } from './ferry-runner.ts'
import type { BenchConfig, ScenarioResult, ToolRun } from './types.ts'
import { envNum, errMsg, freePort, log, makeTempDir, memSettle, MiB, onCleanup, removeTempDir, round, run as runCmd, sleep, spawnTracked, stopChild, until } from './util.ts'
import { dpkgVersion } from './install.ts'

const FOLDER = 'bench'
const APIKEY = 'ferry-transfer-bench-key'
const ST_ENV = { STNODEFAULTFOLDER: '1', STNOUPGRADE: '1', STNORESTART: '1', STMONITORED: 'yes' }

const xmlEsc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function setOption (xml: string, key: string, value: string): string {
  const re = new RegExp(`(<options>[\\s\\S]*?)<${key}>[^<]*</${key}>`)
  if (re.test(xml)) return xml.replace(re, `$1<${key}>${xmlEsc(value)}</${key}>`)
  return xml.replace('</options>', `    <${key}>${xmlEsc(value)}</${key}>\n    </options>`)
}

interface Inst { name: string, home: string, data: string, gui: number, sync: number, id: string, proc?: ChildProcess, log: string }

/** rewrites a freshly generated config.xml (Syncthing has never started with it) */
async function writeConfig (me: Inst, peer: Inst, watchDelayS: number): Promise<void> {
  const path = join(me.home, 'config.xml')
  let xml = await readFile(path, 'utf8')
  const folderTmpl = /<defaults>\s*(<folder [\s\S]*?<\/folder>)/.exec(xml)?.[1]
  const deviceTmpl = /<defaults>[\s\S]*?(<device id="" [\s\S]*?<\/device>)/.exec(xml)?.[1]
  if (folderTmpl === undefined || deviceTmpl === undefined) throw new Error('unexpected config.xml layout (no <defaults> folder/device)')
  // own device: a name
  xml = xml.replace(new RegExp(`<device id="${me.id}" name="[^"]*"`), `<device id="${me.id}" name="${me.name}"`)
  // the peer, with its static loopback address
  const peerXml = deviceTmpl
    .replace('<device id=""', `<device id="${peer.id}" name="${peer.name}"`)
    .replace(/<address>[^<]*<\/address>/, `<address>tcp://127.0.0.1:${peer.sync}</address>`)
  // the shared folder: the defaults template (all default values), both devices
  const devs = [me.id, peer.id].sort().map(id => `<device id="${id}" introducedBy="">\n                <encryptionPassword></encryptionPassword>\n            </device>`).join('\n            ')
  const folderXml = folderTmpl
    .replace(/<folder id="" label="" path="[^"]*"/, `<folder id="${FOLDER}" label="${FOLDER}" path="${xmlEsc(me.data)}"`)
    .replace(/fsWatcherEnabled="[^"]*"/, 'fsWatcherEnabled="true"')
    .replace(/fsWatcherDelayS="[^"]*"/, `fsWatcherDelayS="${watchDelayS}"`)
    .replace(/<device id="[^"]*" introducedBy="">\s*<encryptionPassword><\/encryptionPassword>\s*<\/device>/, devs)
  xml = xml.replace(/(<configuration [^>]*>\n)/, `$1    ${folderXml}\n    ${peerXml}\n`)
  // GUI / REST: plain HTTP on loopback, known API key
  xml = xml.replace(/<gui [^>]*>[\s\S]*?<\/gui>/, m => m
    .replace(/enabled="[^"]*"/, 'enabled="true"').replace(/tls="[^"]*"/, 'tls="false"')
    .replace(/<address>[^<]*<\/address>/, `<address>127.0.0.1:${me.gui}</address>`)
    .replace(/<apikey>[^<]*<\/apikey>/, `<apikey>${APIKEY}</apikey>`))
  const opts: Record<string, string> = {
    listenAddress: `tcp://127.0.0.1:${me.sync}`,
    globalAnnounceEnabled: 'false',
    localAnnounceEnabled: 'false',
    relaysEnabled: 'false',
    natEnabled: 'false',
    startBrowser: 'false',
    urAccepted: '-1', // usage reporting declined
    urSeen: '3',
    autoUpgradeIntervalH: '0',
    crashReportingEnabled: 'false',
    stunKeepaliveStartS: '0',
    announceLANAddresses: 'false'
  }
  for (const [k, v] of Object.entries(opts)) xml = setOption(xml, k, v)
  await writeFile(path, xml)
}

async function api<T> (inst: Inst, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  let lastErr: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const res = await fetch(`http://127.0.0.1:${inst.gui}${path}`, {
        method,
        headers: { 'X-API-Key': APIKEY, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs)
      })
      const text = await res.text()
      if (res.status >= 400) throw new Error(`${inst.name} ${method} ${path} -> ${res.status} ${text.slice(0, 200)}`)
      return (text.trim() === '' ? undefined : JSON.parse(text)) as T
    } catch (err) {
      lastErr = err
      if (attempt < 2) await sleep(200)
    }
  }
  throw lastErr
}

interface DbStatus { state: string, needTotalItems: number, needBytes: number, needDeletes: number, globalFiles: number, globalDirectories: number, globalBytes: number, localFiles: number, localDirectories: number, localBytes: number, errors?: number, watchError?: string }

const dbStatus = async (i: Inst): Promise<DbStatus> => await api<DbStatus>(i, 'GET', `/rest/db/status?folder=${FOLDER}`)
const completionSeq = async (i: Inst, dev: string): Promise<number> => (await api<{ sequence: number }>(i, 'GET', `/rest/db/completion?folder=${FOLDER}&device=${dev}`)).sequence
const connStats = async (i: Inst, peer: Inst): Promise<{ connected: boolean, address?: string, inB: number, outB: number }> => {
  const c = await api<{ connections: Record<string, { connected: boolean, address: string, inBytesTotal: number, outBytesTotal: number }> }>(i, 'GET', '/rest/system/connections')
  const pc = c.connections[peer.id]
  return { connected: pc?.connected ?? false, ...(pc?.address === undefined ? {} : { address: pc.address }), inB: pc?.inBytesTotal ?? 0, outB: pc?.outBytesTotal ?? 0 }
}

export async function runSyncthing (cfg: BenchConfig): Promise<ToolRun> {
  const out: ToolRun = { tool: 'syncthing', notes: [], results: [] }
  const want = (s: string): boolean => cfg.scenarios.has(s)
  const ver = await runCmd('syncthing', ['--version'], { timeoutMs: 20_000 })
  out.version = `${ver.stdout.trim()} (deb ${await dpkgVersion('syncthing') ?? '?'})`
  if (!['S1', 'S2', 'S3', 'S4', 'S5', 'S6'].some(want)) return out

  const work = await makeTempDir('ferry-bench-st-')
  const staging = join(work, 'staging')
  await mkdir(staging)
  const insts: Inst[] = []
  for (const name of ['A', 'B']) {
    const inst: Inst = { name, home: join(work, `home${name}`), data: join(work, `data${name}`), gui: await freePort(), sync: await freePort(), id: '', log: '' }
    await mkdir(inst.home); await mkdir(inst.data)
    const g = await runCmd('syncthing', ['generate', `--home=${inst.home}`, '--no-default-folder', '--skip-port-probing'], { timeoutMs: 60_000, env: { ...process.env, ...ST_ENV } })
    if (g.code !== 0) throw new Error(`syncthing generate failed: ${g.stderr}`)
    const idr = await runCmd('syncthing', ['serve', `--home=${inst.home}`, '--device-id'], { timeoutMs: 30_000, env: { ...process.env, ...ST_ENV } })
    const id = /[A-Z0-9]{7}(?:-[A-Z0-9]{7}){7}/.exec(idr.stdout)?.[0]
    if (id === undefined) throw new Error(`no device id from syncthing: ${idr.stdout} ${idr.stderr}`)
    inst.id = id
    insts.push(inst)
  }
  const [A, B] = insts as [Inst, Inst]
  await writeConfig(A, B, 10)
  await writeConfig(B, A, 10)

  const start = async (i: Inst): Promise<void> => {
    const c = spawnTracked('syncthing', ['serve', `--home=${i.home}`, '--no-browser', '--no-restart', '--no-upgrade', '--logflags=3'], { env: { ...process.env, ...ST_ENV } })
    i.proc = c
    const onData = (d: Buffer): void => { i.log = (i.log + d.toString()).slice(-200_000) }
    c.stdout!.on('data', onData)
    c.stderr!.on('data', onData)
    await until(`syncthing ${i.name} REST API`, async () => {
      if (c.exitCode !== null) throw new Error(`syncthing ${i.name} exited ${c.exitCode}: ${i.log.slice(-1000)}`)
      return await api(i, 'GET', '/rest/system/ping', undefined, 2_000).then(() => true).catch(() => undefined)
    }, 60_000, 200)
  }
  const unregister = onCleanup('syncthing instances', async () => { for (const i of insts) await stopChild(i.proc) })
  const logTails = (): Record<string, string[]> => ({ logA: A.log.trimEnd().split('\n').slice(-20), logB: B.log.trimEnd().split('\n').slice(-20) })
  try {
    await start(A)
    await start(B)
    const pidA = A.proc!.pid!
    const pidB = B.proc!.pid!
    log(`syncthing: A pid ${pidA} (gui ${A.gui}, sync ${A.sync}), B pid ${pidB} (gui ${B.gui}, sync ${B.sync})`)

    // ---- setup checks: the config took, both connected, only loopback sockets
    const o = (await api<{ options: Record<string, unknown> }>(A, 'GET', '/rest/config')).options
    const bad = Object.entries({ globalAnnounceEnabled: false, localAnnounceEnabled: false, relaysEnabled: false, natEnabled: false, crashReportingEnabled: false, autoUpgradeIntervalH: 0 })
      .filter(([k, v]) => o[k] !== v).map(([k]) => k)
    if (bad.length > 0 || (o.urAccepted as number) >= 0) throw new Error(`config not applied: ${bad.join(', ')} urAccepted=${String(o.urAccepted)}`)
    await until('syncthing A and B connected', async () => (await connStats(B, A)).connected ? true : undefined, 120_000, 200)
    const socks = (await listTcp()).filter(r => r.pids.includes(pidA) || r.pids.includes(pidB))
    const nonLoop = socks.filter(r => ![r.local, r.peer].every(x => /^(127\.|\[::1\]|\[::ffff:127\.)/.test(x)))
    out.notes.push(`sockets of A and B: ${socks.map(s => `${s.local}>${s.peer}`).join(' ')}`)
    if (nonLoop.length > 0) throw new Error(`non-loopback sockets: ${nonLoop.map(s => `${s.local}>${s.peer}`).join(' ')}`)
    out.notes.push(`options: ${JSON.stringify(Object.fromEntries(['listenAddresses', 'globalAnnounceEnabled', 'localAnnounceEnabled', 'relaysEnabled', 'natEnabled', 'urAccepted', 'crashReportingEnabled', 'autoUpgradeIntervalH'].map(k => [k, o[k]])))}`)

    const bInSync = async (aSt: DbStatus, aSeq: number): Promise<DbStatus | undefined> => {
      // B's view of A's index first, then B's status (see stbench.py b_in_sync)
      const seq = await completionSeq(B, A.id)
      const st = await dbStatus(B)
      return seq >= aSeq && st.state === 'idle' && st.needTotalItems === 0 && st.needBytes === 0 && st.needDeletes === 0 &&
        st.globalFiles === aSt.localFiles && st.globalDirectories === aSt.localDirectories && st.globalBytes === aSt.localBytes &&
        st.localFiles === st.globalFiles && st.localBytes === st.globalBytes
        ? st
        : undefined
    }
    const scanA = async (): Promise<void> => { await api(A, 'POST', `/rest/db/scan?folder=${FOLDER}`, undefined, cfg.timeoutMs) }
    const settle = async (): Promise<void> => {
      await scanA()
      const aSt = await dbStatus(A)
      const aSeq = await completionSeq(A, A.id)
      await until('syncthing B in sync (untimed)', async () => await bInSync(aSt, aSeq), cfg.timeoutMs, cfg.pollMs)
      await until('syncthing idle', async () => (await dbStatus(A)).state === 'idle' && (await dbStatus(B)).state === 'idle' ? true : undefined, cfg.timeoutMs, 100)
    }

    const timed = async (scenario: string, fileBytes: number | undefined, change: () => Promise<void>, verify: () => Promise<boolean>, prepare?: () => Promise<void>): Promise<ScenarioResult> => {
      const r: ScenarioResult = { scenario, tool: 'syncthing', ok: false, ...(fileBytes === undefined ? {} : { fileBytes }) }
      try {
        await settle()
        await prepare?.()
        await memSettle()
        const pa = new ProcWatch(pidA)
        const pb = new ProcWatch(pidB)
        pa.start(); pb.start()
        const tracker = new SocketTracker({ A: { pids: [pidA], ports: [A.sync, B.sync] }, B: { pids: [pidB], ports: [A.sync, B.sync] } })
        await tracker.start()
        const rest0 = await connStats(B, A)
        const t0 = performance.now()
        try {
          await change()
          const tChanged = performance.now()
          await scanA()
          const tScanned = performance.now()
          const aSt = await dbStatus(A)
          const aSeq = await completionSeq(A, A.id)
          await until(`syncthing B in sync after ${scenario}`, async () => await bInSync(aSt, aSeq), cfg.timeoutMs, cfg.pollMs)
          r.timeS = (performance.now() - t0) / 1000
          r.details = { changeS: round((tChanged - t0) / 1000, 4), aScanDoneS: round((tScanned - t0) / 1000) }
        } finally {
          r.wire = await tracker.stop()
        }
        const rest1 = await connStats(B, A)
        r.counter = { what: 'Syncthing REST /rest/system/connections on B (BEP bytes inside TLS)', receivedB: rest1.inB - rest0.inB, sentB: rest1.outB - rest0.outB }
        r.procs = { A: pa.finish(), B: pb.finish() }
        if (fileBytes !== undefined) r.mbps = round(fileBytes / r.timeS / 1e6, 1)
        r.verified = await verify()
        r.ok = r.verified
      } catch (err) {
        r.error = errMsg(err)
        r.details = { ...r.details, ...logTails() }
      }
      log(`syncthing ${scenario}: ${r.ok ? `${r.timeS?.toFixed(2)} s` : `FAILED ${r.error ?? 'verification'}`}, B socket in ${((r.wire?.B?.received ?? 0) / MiB).toFixed(1)} MiB`)
      out.results.push(r)
      return r
    }

    const aBig = join(A.data, 'big.bin')
    const sameFile = async (name: string, absent?: string): Promise<boolean> => {
      const [ha, hb] = await Promise.all([sha256File(join(A.data, name)), sha256File(join(B.data, name)).catch(() => 'missing')])
      const gone = absent === undefined || await stat(join(B.data, absent)).then(() => false, () => true)
      return ha === hb && gone
    }
    if (['S1', 'S3', 'S4', 'S6'].some(want)) {
      const stg = join(staging, 'big.bin')
      let sha = ''
      const s1 = await timed('S1', cfg.size, async () => { await rename(stg, aBig) }, async () => await sameFile('big.bin') && sha === await sha256File(aBig), async () => {
        log(`syncthing S1: generating ${(cfg.size / MiB).toFixed(0)} MiB file`)
        sha = await writeKeystreamFile(stg, cfg.size, BIG_SEED)
      })
      let ok = s1.ok
      if (ok && want('S3')) {
        const patch = patchFor(cfg.size)
        ok = (await timed('S3', cfg.size, async () => { await applyPatchInPlace(aBig, patch) }, async () => await sameFile('big.bin'))).ok
      }
      if (ok && want('S4')) {
        const stg4 = join(staging, 'big.bin.new')
        ok = (await timed('S4', cfg.size + 1, async () => { await rename(stg4, aBig) }, async () => await sameFile('big.bin'), async () => { await writeInsertedCopy(aBig, stg4) })).ok
      }
      let name = 'big.bin'
      if (ok && want('S6')) {
        const size = (await stat(aBig)).size
        ok = (await timed('S6', size, async () => { await rename(aBig, join(A.data, 'big-renamed.bin')) }, async () => await sameFile('big-renamed.bin', 'big.bin'))).ok
        if (ok) name = 'big-renamed.bin'
      }
      await timed('aux-delete-big', undefined, async () => { await rm(join(A.data, name), { force: true }) }, async () => await stat(join(B.data, name)).then(() => false, () => true))
    }
    if (want('S2')) {
      const stg = join(staging, 'small')
      let counts = { files: 0, bytes: 0 }
      const r = await timed('S2', undefined, async () => { await rename(stg, join(A.data, 'small')) }, async () => {
        const [da, db] = await Promise.all([treeDigest(join(A.data, 'small')), treeDigest(join(B.data, 'small')).catch(() => undefined)])
        return db !== undefined && da.digest === db.digest && db.files === counts.files
      }, async () => {
        log('syncthing S2: generating 10,000 files')
        counts = await makeSmallTree(stg)
      })
      r.fileBytes = counts.bytes
      if (r.timeS !== undefined) r.mbps = round(counts.bytes / r.timeS / 1e6, 1)
    }

    if (want('S5')) {
      await settle()
      const s5 = async (delayS: number, reps: number): Promise<ScenarioResult> => {
        const r: ScenarioResult = { scenario: 'S5', tool: delayS === 1 ? 'syncthing' : `syncthing (fsWatcherDelayS=${delayS})`, ok: false }
        for (const i of [A, B]) await api(i, 'PATCH', `/rest/config/folders/${FOLDER}`, { fsWatcherDelayS: delayS })
        await until('fsWatcherDelayS applied', async () => {
          for (const i of [A, B]) if ((await api<{ fsWatcherDelayS: number }>(i, 'GET', `/rest/config/folders/${FOLDER}`)).fsWatcherDelayS !== delayS) return undefined
          return true
        }, 60_000, 200)
        await sleep(1000)
        const gapMs = (delayS + 3) * 1000
        const pa = new ProcWatch(pidA)
        const pb = new ProcWatch(pidB)
        pa.start(); pb.start()
        const samples: number[] = []
        try {
          for (let k = 0; k < reps; k++) {
            await until('syncthing idle', async () => {
              const [sa, sb] = await Promise.all([dbStatus(A), dbStatus(B)])
              return sa.state === 'idle' && sb.state === 'idle' && sb.needTotalItems === 0 ? true : undefined
            }, 120_000, 100)
            // the watcher's aggregation timer has stopped: each try is the "idle watcher" case
            await sleep(gapMs)
            const name = `s5-d${delayS}-${String(k).padStart(2, '0')}.bin`
            const body = randomBytes(1024)
            const t0 = performance.now()
            await writeFile(join(A.data, name), body)
            await until(`S5 file ${name} on B`, async () => {
              const got = await readFile(join(B.data, name)).catch(() => undefined)
              return got !== undefined && got.equals(body) ? true : undefined
            }, 120_000, 10)
            samples.push(performance.now() - t0)
          }
          r.ok = true
        } catch (err) {
          r.error = errMsg(err)
          r.details = logTails()
        }
        r.procs = { A: pa.finish(), B: pb.finish() }
        r.latency = latencyOf(samples)
        r.details = { ...r.details, fsWatcherDelayS: delayS, gapS: gapMs / 1000 }
        log(`syncthing S5 (fsWatcherDelayS=${delayS}): p50 ${r.latency.p50Ms.toFixed(0)} ms, p95 ${r.latency.p95Ms.toFixed(0)} ms over ${samples.length} tries`)
        out.results.push(r)
        return r
      }
      await s5(1, cfg.s5Reps)
      const defaultReps = envNum('ST_S5_DEFAULT_REPS', 3)
      if (defaultReps > 0) await s5(10, defaultReps)
    }
  } catch (err) {
    out.notes.push(`syncthing run aborted: ${errMsg(err)}`)
    log(`syncthing: aborted: ${errMsg(err)}`)
    out.notes.push(...Object.values(logTails()).flat().slice(-20))
  } finally {
    for (const i of insts) await stopChild(i.proc)
    unregister()
    await removeTempDir(work)
  }
  return out
}
