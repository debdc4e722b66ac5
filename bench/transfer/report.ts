/** Markdown report and ferry/reference ratios from the collected results. */
import type { ScenarioResult, ToolRun } from './types.ts'
import { MiB } from './util.ts'

const SCENARIO_TEXT: Record<string, string> = {
  S1: 'initial sync of one big random file',
  'S1-fsync': 'S1 with rsync --fsync',
  S2: '10,000 small files (1-20 KiB, 100 dirs)',
  S3: 'overwrite 1 MiB in the middle of the big file',
  S4: 'insert 1 byte at the start of the big file',
  S5: 'new 1 KiB file visible on B (watcher only)',
  S6: 'rename the big file',
  S7: 'S1, receiver SIGKILLed at ~50%, restarted',
  R1: 'a device uploads the big file to the relay (alone)',
  R2: 'a new device downloads it from the relay alone'
}

const f = (x: number | undefined, d = 2): string => x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d)
const mib = (x: number | undefined, d = 2): string => x === undefined || !Number.isFinite(x) ? '–' : (x / MiB).toFixed(d)

function check (r: ScenarioResult): string {
  if (r.skipped !== undefined) return `skipped: ${r.skipped}`
  if (r.ok) return r.verified === undefined ? 'ok' : 'ok (verified)'
  return `FAIL: ${(r.error ?? 'content differs').split('\n')[0]!.slice(0, 160)}`
}

function aDone (r: ScenarioResult): number | undefined {
  const d = r.details ?? {}
  const v = (d.aRecordedS ?? d.aScanDoneS) as number | undefined
  return typeof v === 'number' ? v : undefined
}

export function find (runs: ToolRun[], tool: string, scenario: string): ScenarioResult | undefined {
  return runs.find(t => t.tool === tool)?.results.find(r => r.scenario === scenario && r.tool === tool)
}

export interface Ratio { what: string, value: number | undefined, ferry?: string, reference?: string }

export function ratios (runs: ToolRun[]): Ratio[] {
  const out: Ratio[] = []
  const okT = (tool: string, s: string): ScenarioResult | undefined => {
    const r = find(runs, tool, s)
    return r?.ok === true ? r : undefined
  }
  const raw = runs.find(t => t.tool === 'raw')?.results ?? []
  const rawBy = (prefix: string): ScenarioResult | undefined => raw.find(r => r.ok && r.tool.startsWith(prefix))
  const time = (what: string, fe: ScenarioResult | undefined, ref: ScenarioResult | undefined): void => {
    if (fe?.timeS === undefined || ref?.timeS === undefined) return
    out.push({ what, value: fe.timeS / ref.timeS, ferry: `${f(fe.timeS)} s`, reference: `${f(ref.timeS)} s` })
  }
  const speed = (what: string, fe: ScenarioResult | undefined, ref: ScenarioResult | undefined): void => {
    if (fe?.mbps === undefined || ref?.mbps === undefined) return
    out.push({ what, value: fe.mbps / ref.mbps, ferry: `${f(fe.mbps, 1)} MB/s`, reference: `${f(ref.mbps, 1)} MB/s` })
  }
  const wire = (what: string, fe: ScenarioResult | undefined, refBytes: number | undefined, refText: string): void => {
    const fb = fe?.wire?.B?.received
    if (fb === undefined || refBytes === undefined || refBytes === 0) return
    out.push({ what, value: fb / refBytes, ferry: `${mib(fb)} MiB`, reference: `${mib(refBytes)} MiB ${refText}` })
  }
  const s1 = okT('ferry', 'S1')
  time('S1 time: ferry / Syncthing', s1, okT('syncthing', 'S1'))
  time('S1 time: ferry / rsync', s1, okT('rsync', 'S1'))
  time('S1 time: ferry / rsync --fsync', s1, okT('rsync', 'S1-fsync'))
  speed('S1 MB/s: ferry / rsync', s1, okT('rsync', 'S1'))
  speed('S1 MB/s: ferry / raw loopback TCP', s1, rawBy('loopback TCP'))
  speed('S1 MB/s: ferry / one libp2p Noise stream', s1, rawBy('libp2p 1 stream TCP+Noise'))
  speed('S1 MB/s: ferry / one libp2p TLS stream', s1, rawBy('libp2p 1 stream TCP+TLS+'))
  speed('S1 MB/s: ferry / one libp2p socket-TLS stream', s1, rawBy('libp2p 1 stream TCP+socket TLS'))
  speed('S1 MB/s: ferry / disk write+fdatasync (node)', s1, rawBy('node write'))
  speed('S1 MB/s: ferry / disk dd conv=fdatasync', s1, rawBy('dd '))
  for (const s of ['S2', 'S3', 'S4', 'S6']) {
    time(`${s} time: ferry / Syncthing`, okT('ferry', s), okT('syncthing', s))
    if (s !== 'S6') time(`${s} time: ferry / rsync`, okT('ferry', s), okT('rsync', s))
  }
  for (const s of ['S3', 'S4']) {
    wire(`${s} bytes into B: ferry / Syncthing (socket)`, okT('ferry', s), okT('syncthing', s)?.wire?.B?.received, '(Syncthing socket)')
    wire(`${s} bytes into B: ferry / rsync (--stats)`, okT('ferry', s), okT('rsync', s)?.counter?.receivedB, '(rsync --stats)')
  }
  const f5 = find(runs, 'ferry', 'S5')
  const st5 = find(runs, 'syncthing', 'S5')
  if (f5?.latency !== undefined && st5?.latency !== undefined && f5.latency.reps > 0 && st5.latency.reps > 0) {
    out.push({ what: 'S5 p50: ferry / Syncthing (fsWatcherDelayS=1)', value: f5.latency.p50Ms / st5.latency.p50Ms, ferry: `${f(f5.latency.p50Ms, 0)} ms`, reference: `${f(st5.latency.p50Ms, 0)} ms` })
  }
  for (const s of ['R1', 'R2']) {
    const r = okT('ferry', s)
    speed(`${s} MB/s: ferry relay / raw loopback TCP`, r, rawBy('loopback TCP'))
    speed(`${s} MB/s: ferry relay / disk write+fdatasync (node)`, r, rawBy('node write'))
    speed(`${s} MB/s: ferry relay / ferry S1 (direct)`, r, s1)
  }
  const s7 = okT('ferry', 'S7')
  time('S7 time: ferry S7 / ferry S1', s7, s1)
  if (s7?.wire?.B !== undefined && s7.fileBytes !== undefined) out.push({ what: 'S7 bytes into B (socket) / file size', value: s7.wire.B.received / s7.fileBytes, ferry: `${mib(s7.wire.B.received)} MiB`, reference: `${mib(s7.fileBytes)} MiB` })
  return out
}

export function markdown (runs: ToolRun[], header: string[]): string {
  const L: string[] = [...header, '']
  const raw = runs.find(t => t.tool === 'raw')
  if (raw !== undefined && raw.results.length > 0) {
    L.push('### Raw limits (same run, best of RAW_REPS tries; MB = 10^6 bytes)', '', '| reference | MB/s | time s | bytes MiB | all tries MB/s | check |', '|---|---|---|---|---|---|')
    for (const r of raw.results) L.push(`| ${r.tool} | ${f(r.mbps, 1)} | ${f(r.timeS)} | ${mib(r.fileBytes, 0)} | ${((r.details?.samplesMBps ?? []) as Array<number | null>).map(x => x ?? '–').join(', ')} | ${check(r)} |`)
    L.push('')
  }
  const order = ['S1', 'S1-fsync', 'S2', 'S3', 'S4', 'S6', 'S7']
  const tools = ['ferry', 'rsync', 'syncthing']
  if (order.some(s => tools.some(t => find(runs, t, s) !== undefined))) {
  L.push('### Scenarios', '',
    'A = sender, B = receiver (rsync: A = client, B = daemon). Time: from the change on A (rsync: the command start) until B holds the result. ' +
    'MB/s = size of the changed file(s) / time. Socket = kernel TCP counters (`ss`: bytes_received / bytes_acked, includes TLS/Noise and framing). ' +
    'Tool counter: ferry = block bytes (status receivedBytes), Syncthing = BEP bytes (REST), rsync = --stats totals. "A done" = when A had recorded the change (ferry: state hash changed, Syncthing: scan call returned).',
    '',
    '| scenario | tool | time s | MB/s | A done s | socket B in / out MiB | socket A out / in MiB | B in (tool counter) MiB | CPU A s | CPU B s | peak RSS A MiB | peak RSS B MiB | check |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const s of order) {
    for (const t of tools) {
      const r = find(runs, t, s)
      if (r === undefined) continue
      const pa = r.procs?.A ?? r.procs?.client
      const pb = r.procs?.B ?? r.procs?.daemon
      const closed = (r.wire?.B?.closed ?? 0) > 0 ? ` (${r.wire!.B!.closed} socket closed mid-step: lower bound)` : ''
      L.push(`| ${s} | ${t} | ${f(r.timeS)} | ${f(r.mbps, 1)} | ${f(aDone(r))} | ${mib(r.wire?.B?.received)} / ${mib(r.wire?.B?.sent)}${closed} | ${mib(r.wire?.A?.sent)} / ${mib(r.wire?.A?.received)} | ${mib(r.counter?.receivedB)} | ${f(pa?.cpuS)} | ${f(pb?.cpuS)} | ${mib((pa?.peakRssKiB ?? Number.NaN) * 1024, 0)} | ${mib((pb?.peakRssKiB ?? Number.NaN) * 1024, 0)} | ${check(r)} |`)
    }
  }
  L.push('')
  }
  const rel = ['R1', 'R2'].map(s => find(runs, 'ferry', s)).filter(r => r !== undefined)
  if (rel.length > 0) {
    L.push('### Relay (ferry): R1 = device A uploads to the relay alone, R2 = new device B downloads from the relay alone', '',
      'Time: R1 from A having recorded the file until the relay acknowledged all of it; R2 from B running until B holds the file. ' +
      'CPU s/GiB = CPU seconds of the process over the step per GiB of file. Idle RSS: IDLE_S after the step.',
      '',
      '| scenario | time s | MB/s | relay CPU s/GiB | device CPU s/GiB | peak RSS relay MiB | peak RSS device MiB | idle RSS relay / device MiB | relay socket in / out MiB | check |',
      '|---|---|---|---|---|---|---|---|---|---|')
    for (const r of rel) {
      const dev = r.scenario === 'R1' ? 'A' : 'B'
      const per = (r.details?.cpuSPerGiB ?? {}) as Record<string, number>
      const idle = (r.details?.idleRssKiB ?? {}) as Record<string, number>
      L.push(`| ${r.scenario} | ${f(r.timeS)} | ${f(r.mbps, 1)} | ${f(per.relay)} | ${f(per[dev])} | ${mib((r.procs?.relay?.peakRssKiB ?? Number.NaN) * 1024, 0)} | ${mib((r.procs?.[dev]?.peakRssKiB ?? Number.NaN) * 1024, 0)} | ${mib((idle.relay ?? Number.NaN) * 1024, 0)} / ${mib((idle[dev] ?? Number.NaN) * 1024, 0)} | ${mib(r.wire?.relay?.received)} / ${mib(r.wire?.relay?.sent)} | ${check(r)} |`)
    }
    L.push('')
  }
  const idleRows = ['S1', 'S2'].map(s => find(runs, 'ferry', s)).filter(r => r?.details?.idleRssKiB !== undefined)
  if (idleRows.length > 0) {
    L.push('### Idle after sync (ferry): RSS of each daemon IDLE_S after the step', '', '| scenario | A MiB | B MiB |', '|---|---|---|')
    for (const r of idleRows) {
      const idle = r!.details!.idleRssKiB as Record<string, number>
      L.push(`| ${r!.scenario} | ${mib((idle.A ?? Number.NaN) * 1024, 0)} | ${mib((idle.B ?? Number.NaN) * 1024, 0)} |`)
    }
    L.push('')
  }
  const s5 = runs.flatMap(t => t.results.filter(r => r.scenario === 'S5'))
  if (s5.length > 0) {
    L.push('### S5: new 1 KiB file visible on B (file watcher only, no manual scan)', '', '| tool | tries | p50 ms | p95 ms | min ms | max ms | CPU A s | CPU B s | check |', '|---|---|---|---|---|---|---|---|---|')
    for (const r of s5) {
      const l = r.latency
      L.push(`| ${r.tool}${r.tool === 'syncthing' ? ' (fsWatcherDelayS=1)' : ''} | ${l?.reps ?? 0} | ${f(l?.p50Ms, 0)} | ${f(l?.p95Ms, 0)} | ${f(l?.minMs, 0)} | ${f(l?.maxMs, 0)} | ${f(r.procs?.A?.cpuS)} | ${f(r.procs?.B?.cpuS)} | ${check(r)} |`)
    }
    L.push('')
  }
  const s7 = find(runs, 'ferry', 'S7')
  if (s7 !== undefined && s7.details !== undefined) {
    const d = s7.details
    L.push('### S7 details (ferry)', '',
      `killed B at ${f(d.killAtS as number)} s after the file appeared, with ${mib(d.blockBytesBeforeKill as number, 0)} MiB of blocks received; ` +
      `restart took ${f(d.restartS as number)} s; after the restart B needed ${f(d.afterRestartS as number)} s and ${mib(d.blockBytesAfterRestart as number, 0)} MiB of blocks; ` +
      `total ${f(s7.timeS)} s, ${mib(s7.wire?.B?.received)} MiB into B at the socket (${f(d.receivedOverFileSize as number)} x the file size). ` +
      `Temp files in B's .ferry/tmp after the kill: ${JSON.stringify(d.partFilesAfterKill ?? [])}.`, '')
  }
  const rs = ratios(runs)
  if (rs.length > 0) {
    L.push('### Ratios (ferry / reference; time: < 1 is faster, MB/s: > 1 is faster)', '', '| comparison | ratio | ferry | reference |', '|---|---|---|---|')
    for (const r of rs) L.push(`| ${r.what} | ${r.value === undefined ? 'n/a' : r.value.toFixed(2)} | ${r.ferry ?? '–'} | ${r.reference ?? '–'} |`)
    L.push('')
  }
  const notes = runs.flatMap(t => [...(t.skipped === undefined ? [] : [`${t.tool}: skipped: ${t.skipped}`]), ...t.notes.filter(n => n.includes('aborted')).map(n => `${t.tool}: ${n}`)])
  if (notes.length > 0) L.push('### Notes', '', ...notes.map(n => `- ${n}`), '')
  L.push('Scenarios: ' + Object.entries(SCENARIO_TEXT).map(([k, v]) => `${k} = ${v}`).join('; ') + '.')
  return L.join('\n')
}
