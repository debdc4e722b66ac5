/**
 * Raw limits of this machine, measured in the same run: the disk's sequential write speed
 * (node write + fdatasync, and `dd conv=fdatasync`), loopback TCP between two node processes,
 * and one libp2p stream (TCP + Noise + Yamux; also TLS, which ferry prefers) between two node
 * processes. MB = 10^6 bytes.
 */
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { keystreamBytes } from './datasets.ts'
import { ProcWatch } from './proc-stats.ts'
import type { ScenarioResult, ToolRun } from './types.ts'
import { envNum, errMsg, freePort, log, makeTempDir, memSettle, MiB, removeTempDir, round, run as runCmd, spawnTracked, stopChild, until } from './util.ts'

const HERE = import.meta.dirname

async function diskNode (dir: string, bytes: number): Promise<ScenarioResult> {
  const f = join(dir, 'disk-node.bin')
  const buf = keystreamBytes(8 * MiB, 'disk-ref')
  await memSettle()
  const t0 = performance.now()
  const fh = await open(f, 'w')
  try {
    for (let left = bytes; left > 0;) {
      const n = Math.min(left, buf.length)
      await fh.write(buf, 0, n)
      left -= n
    }
    await fh.datasync()
  } finally {
    await fh.close()
  }
  const s = (performance.now() - t0) / 1000
  await rm(f)
  return { scenario: 'disk', tool: 'node write 8 MiB + fdatasync', ok: true, timeS: s, fileBytes: bytes, mbps: round(bytes / s / 1e6, 1) }
}

async function diskDd (dir: string, bytes: number): Promise<ScenarioResult> {
  const f = join(dir, 'disk-dd.bin')
  await memSettle()
  const r = await runCmd('dd', ['if=/dev/zero', `of=${f}`, 'bs=1M', `count=${Math.round(bytes / MiB)}`, 'conv=fdatasync'], { timeoutMs: 600_000 })
  await rm(f, { force: true })
  if (r.code !== 0) return { scenario: 'disk', tool: 'dd conv=fdatasync', ok: false, error: r.stderr.trim() }
  const s = r.ms / 1000
  return { scenario: 'disk', tool: 'dd bs=1M conv=fdatasync', ok: true, timeS: s, fileBytes: bytes, mbps: round(bytes / s / 1e6, 1) }
}

/** resolves with the helper child's first stdout line */
async function lineOf (c: ChildProcess, what: string, timeoutMs: number): Promise<string> {
  let buf = ''
  let err = ''
  c.stdout!.on('data', (d: Buffer) => { buf += d.toString() })
  c.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  return await until(what, () => {
    const i = buf.indexOf('\n')
    if (i >= 0) return buf.slice(0, i).trim()
    if (c.exitCode !== null || c.signalCode !== null) throw new Error(`helper exited ${c.exitCode ?? c.signalCode}: ${err.slice(-500)}`)
    return undefined
  }, timeoutMs, 20, () => err.slice(-500))
}

async function rawTcp (bytes: number): Promise<ScenarioResult> {
  const port = await freePort()
  const sink = spawnTracked(process.execPath, [join(HERE, 'tcp-peer.ts'), 'sink', String(port), String(bytes)])
  try {
    if (await lineOf(sink, 'tcp sink ready', 30_000) !== 'READY') throw new Error('tcp sink did not start')
    await memSettle()
    const src = spawnTracked(process.execPath, [join(HERE, 'tcp-peer.ts'), 'source', String(port), String(bytes)])
    const res = JSON.parse(await lineOf(src, 'tcp transfer', 300_000)) as { ok: boolean, ms: number }
    await stopChild(src)
    const s = res.ms / 1000
    return { scenario: 'tcp', tool: 'loopback TCP, node -> node, 1 MiB writes', ok: res.ok, timeS: s, fileBytes: bytes, mbps: round(bytes / s / 1e6, 1) }
  } finally {
    await stopChild(sink)
  }
}

async function libp2pStream (enc: 'noise' | 'tls' | 'socket-tls', bytes: number): Promise<ScenarioResult> {
  const listener = spawnTracked(process.execPath, [join(HERE, 'libp2p-peer.ts'), 'listen', enc])
  const r: ScenarioResult = { scenario: 'libp2p', tool: `libp2p 1 stream TCP+${enc === 'tls' ? 'TLS' : enc === 'socket-tls' ? 'socket TLS (ferry)' : 'Noise'}+Yamux`, ok: false, fileBytes: bytes }
  try {
    const ma = await lineOf(listener, `libp2p ${enc} listener`, 60_000)
    if (!ma.startsWith('/ip4/127.0.0.1/tcp/')) throw new Error(`unexpected listen address ${ma}`)
    await memSettle()
    const dialer = spawnTracked(process.execPath, [join(HERE, 'libp2p-peer.ts'), 'dial', enc, ma, String(bytes)])
    const pl = new ProcWatch(listener.pid!)
    pl.start()
    const res = JSON.parse(await lineOf(dialer, `libp2p ${enc} transfer`, 600_000)) as { ok: boolean, ms: number, dialMs: number, peakWriteBuffer: number }
    r.procs = { receiver: pl.finish() }
    await stopChild(dialer)
    r.timeS = res.ms / 1000
    r.ok = res.ok
    r.mbps = round(bytes / r.timeS / 1e6, 1)
    r.details = { dialMs: round(res.dialMs, 1), peakWriteBufferBytes: res.peakWriteBuffer }
  } catch (err) {
    r.error = errMsg(err)
  } finally {
    await stopChild(listener)
  }
  return r
}

export async function runRawRefs (size: number): Promise<ToolRun> {
  const out: ToolRun = { tool: 'raw', notes: [], results: [] }
  const reps = Math.max(1, envNum('RAW_REPS', 2))
  out.notes.push(`best of ${reps} tries each (RAW_REPS)`)
  const dir = await makeTempDir('ferry-bench-raw-')
  const steps: Array<[string, () => Promise<ScenarioResult>]> = [
    ['disk (node)', async () => await diskNode(dir, size)],
    ['disk (dd)', async () => await diskDd(dir, size)],
    ['tcp', async () => await rawTcp(Math.max(2 * size, 256 * MiB))],
    ['libp2p noise', async () => await libp2pStream('noise', size)],
    ['libp2p tls', async () => await libp2pStream('tls', size)],
    ['libp2p socket tls', async () => await libp2pStream('socket-tls', size)]
  ]
  try {
    for (const [name, fn] of steps) {
      // best of `reps`: these are the machine's limits, and the machine is shared
      const all: ScenarioResult[] = []
      for (let i = 0; i < reps; i++) {
        let r: ScenarioResult
        try { r = await fn() } catch (err) { r = { scenario: name, tool: name, ok: false, error: errMsg(err) } }
        log(`raw ${r.tool}: ${r.ok ? `${r.mbps ?? '?'} MB/s` : `FAILED ${r.error ?? ''}`}`)
        all.push(r)
      }
      const ok = all.filter(r => r.ok).sort((x, y) => (y.mbps ?? 0) - (x.mbps ?? 0))
      const best = ok[0] ?? all[0]!
      best.details = { ...best.details, reps, samplesMBps: all.map(r => r.mbps ?? null) }
      out.results.push(best)
    }
  } finally {
    await removeTempDir(dir)
  }
  return out
}
