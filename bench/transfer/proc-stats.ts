/**
 * Per-process CPU and memory from /proc, as the anchor benchmarks measure them:
 * CPU = utime + stime (/proc/PID/stat), peak RSS = VmHWM (/proc/PID/status), reset per scenario
 * with `echo 5 > /proc/PID/clear_refs`.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

let clkTck = 100
try { clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch {}

function statFields (pid: number): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // fields after "(comm)": [0] = state (field 3), utime = field 14 -> [11]
  return s.slice(s.lastIndexOf(')') + 2).trim().split(/\s+/)
}

/** user + system CPU seconds of the process itself */
export function cpuSeconds (pid: number): number {
  const f = statFields(pid)
  return (Number(f[11]) + Number(f[12])) / clkTck
}

/** user + system CPU seconds of the process's reaped children (rsync daemon's per-connection forks) */
export function childCpuSeconds (pid: number): number {
  const f = statFields(pid)
  return (Number(f[13]) + Number(f[14])) / clkTck
}

export interface Mem { hwmKiB: number, rssKiB: number }

export function memKiB (pid: number): Mem {
  let hwmKiB = Number.NaN
  let rssKiB = Number.NaN
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    if (line.startsWith('VmHWM:')) hwmKiB = Number(line.split(/\s+/)[1])
    if (line.startsWith('VmRSS:')) rssKiB = Number(line.split(/\s+/)[1])
  }
  return { hwmKiB, rssKiB }
}

/** resets VmHWM to the current RSS; false if the kernel refused */
export function resetHwm (pid: number): boolean {
  try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); return true } catch { return false }
}

export interface ProcFigures { cpuS: number, peakRssKiB: number, rssEndKiB: number, hwmReset: boolean, pids: number[] }

/**
 * CPU and peak RSS of one logical process over a scenario. `replace()` handles a process that is
 * killed and restarted inside the scenario (S7): call `beforeExit()` right before killing it,
 * then `replace(newPid)`; the new process counts from its start.
 */
export class ProcWatch {
  private pid: number
  private cpu0 = 0
  private cpuDone = 0
  private hwmDone = 0
  private hwmReset = true
  private readonly pids: number[] = []

  constructor (pid: number) {
    this.pid = pid
  }

  start (): void {
    this.hwmReset = resetHwm(this.pid)
    this.cpu0 = cpuSeconds(this.pid)
    this.cpuDone = 0
    this.hwmDone = 0
    this.pids.length = 0
    this.pids.push(this.pid)
  }

  /** figures of the current process so far, kept when it is about to die */
  beforeExit (): void {
    try {
      this.cpuDone += cpuSeconds(this.pid) - this.cpu0
      this.hwmDone = Math.max(this.hwmDone, memKiB(this.pid).hwmKiB)
    } catch {}
  }

  replace (pid: number): void {
    this.pid = pid
    this.cpu0 = 0
    this.pids.push(pid)
  }

  finish (): ProcFigures {
    let m: Mem = { hwmKiB: 0, rssKiB: Number.NaN }
    let cpu = this.cpu0
    try { m = memKiB(this.pid); cpu = cpuSeconds(this.pid) } catch {} // the process is gone
    return {
      cpuS: Math.round((this.cpuDone + cpu - this.cpu0) * 100) / 100,
      peakRssKiB: Math.max(this.hwmDone, m.hwmKiB),
      rssEndKiB: m.rssKiB,
      hwmReset: this.hwmReset,
      pids: [...this.pids]
    }
  }
}
