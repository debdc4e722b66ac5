/**
 * Small shared helpers for the transfer benchmark: logging (stderr, so stdout stays the markdown
 * report), bounded waiting, child processes killed by PID on exit, temp dirs removed on exit or
 * Ctrl-C, and the "memory settle" pause every timed step starts with.
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { accessSync, constants, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB

const T0 = Date.now()

/** progress lines go to stderr: stdout carries only the markdown report */
export function log (msg: string): void {
  const t = ((Date.now() - T0) / 1000).toFixed(1).padStart(7)
  process.stderr.write(`[${t}s] ${msg}\n`)
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

export function envNum (name: string, def: number): number {
  const v = process.env[name]
  if (v === undefined || v === '') return def
  const n = Number(v)
  if (!Number.isFinite(n)) throw new Error(`env ${name}=${v} is not a number`)
  return n
}

export function round (x: number | undefined, digits = 3): number | undefined {
  if (x === undefined || !Number.isFinite(x)) return undefined
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** nearest-rank percentile of an ascending array */
export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[k]!
}

export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function errMsg (err: unknown): string {
  if (err instanceof Error) return err.message
  const e = err as { error?: unknown } | undefined
  if (e?.error instanceof Error) return e.error.message
  return String(err)
}

/**
 * Polls `check` every `intervalMs` until it returns a value other than undefined; throws after
 * `timeoutMs`. `describe` is called for the error message (last observed state).
 */
export async function until<T> (what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 100, describe?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastErr = ''
  while (true) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      lastErr = errMsg(err)
    }
    if (Date.now() > deadline) {
      const extra = describe?.() ?? lastErr
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}${extra === '' ? '' : `: ${extra}`}`)
    }
    await sleep(intervalMs)
  }
}

/** the full path of an executable on PATH (plus the sbin dirs), or undefined */
export function which (cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin']
  for (const d of dirs) {
    if (d === '') continue
    const p = join(d, cmd)
    try { accessSync(p, constants.X_OK); return p } catch {}
  }
  return undefined
}

// ------------------------------------------------------------------ cleanup registry

type CleanupFn = () => Promise<void> | void
const cleanups: Array<{ name: string, fn: CleanupFn }> = []
const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()

/** registers an async cleanup step (run in reverse order); returns an unregister function */
export function onCleanup (name: string, fn: CleanupFn): () => void {
  const entry = { name, fn }
  cleanups.push(entry)
  return () => {
    const i = cleanups.indexOf(entry)
    if (i >= 0) cleanups.splice(i, 1)
  }
}

export async function runCleanups (): Promise<void> {
  while (cleanups.length > 0) {
    const { name, fn } = cleanups.pop()!
    try {
      await Promise.race([Promise.resolve(fn()), sleep(30_000).then(() => { throw new Error('cleanup timed out') })])
    } catch (err) {
      log(`cleanup ${name}: ${errMsg(err)}`)
    }
  }
  for (const c of children) killChild(c, 'SIGKILL')
  // kept in the set: the 'exit' handler removes them once more, synchronously, in case a step
  // that was still running when we were interrupted wrote into one of them meanwhile
  for (const d of tempDirs) await rm(d, { recursive: true, force: true }).catch(() => {})
}

function alive (c: ChildProcess): boolean { return c.exitCode === null && c.signalCode === null }

function killChild (c: ChildProcess, sig: NodeJS.Signals): void {
  if (alive(c) && c.pid !== undefined) {
    try { process.kill(c.pid, sig) } catch {}
  }
}

// Last resort when the process exits without running the async cleanups: kill our own children
// by PID and remove our temp dirs synchronously.
process.on('exit', () => {
  for (const c of children) killChild(c, 'SIGKILL')
  for (const d of tempDirs) { try { rmSync(d, { recursive: true, force: true }) } catch {} }
})

/** makes a child started elsewhere (the Lab's ferry daemons) SIGKILLed by its PID if we exit while it runs */
export function track (c: ChildProcess | undefined): void {
  if (c === undefined || !alive(c)) return
  children.add(c)
  c.once('exit', () => children.delete(c))
}

/** rejects after `ms` if `p` has not settled */
export async function withTimeout<T> (p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${(ms / 1000).toFixed(0)} s: ${typeof what === 'string' ? what : what()}`)), ms) })
  try { return await Promise.race([p, t]) } finally { clearTimeout(timer) }
}

/** spawns a child that is SIGKILLed (by its PID) if we exit while it still runs */
export function spawnTracked (cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  children.add(c)
  c.once('exit', () => children.delete(c))
  c.once('error', () => children.delete(c))
  return c
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited */
export async function stopChild (c: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (c === undefined || !alive(c)) return
  const exited = new Promise<void>(resolve => c.once('exit', () => resolve()))
  killChild(c, 'SIGTERM')
  const t = setTimeout(() => killChild(c, 'SIGKILL'), graceMs)
  await exited
  clearTimeout(t)
}

export interface RunResult { code: number, stdout: string, stderr: string, ms: number }

/** runs a command to completion (bounded by timeoutMs: SIGKILL after it) */
export async function run (cmd: string, args: string[], opts: { timeoutMs?: number, env?: NodeJS.ProcessEnv, cwd?: string, input?: string } = {}): Promise<RunResult> {
  const t0 = performance.now()
  const c = spawnTracked(cmd, args, { env: opts.env ?? process.env, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }), stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  c.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
  c.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  if (opts.input !== undefined) c.stdin!.end(opts.input)
  const timer = setTimeout(() => killChild(c, 'SIGKILL'), opts.timeoutMs ?? 600_000)
  const code = await new Promise<number>(resolve => {
    c.once('error', err => { stderr += String(err); resolve(-1) })
    c.once('close', (code, sig) => resolve(code ?? (sig === null ? -1 : 128)))
  })
  clearTimeout(timer)
  return { code, stdout, stderr, ms: performance.now() - t0 }
}

/** a temp dir made elsewhere (the Lab's root) that must go on exit too */
export function registerTempDir (d: string): void { tempDirs.add(d) }

/** a temp dir under the system tmpdir, removed by runCleanups / on exit */
export async function makeTempDir (prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  tempDirs.add(d)
  return d
}

export async function removeTempDir (d: string): Promise<void> {
  await rm(d, { recursive: true, force: true })
  tempDirs.delete(d)
}

/** `sync`: flush dirty pages so a timed step does not pay for earlier writes */
export function syncDisks (): void {
  try { execFileSync('sync', [], { timeout: 120_000 }) } catch {}
}

/**
 * Before every timed step: flush dirty pages and wait MEM_SETTLE_S (default 10 s). On this VM the
 * guest hands freed memory back to the host within seconds and touching it again costs ~1 s/GiB
 * (see ../shared/anchors/README.md, "Fresh-memory cost"); waiting gives every step the same
 * starting state, as the anchor benchmarks do.
 */
export async function memSettle (): Promise<void> {
  syncDisks()
  const s = envNum('MEM_SETTLE_S', 10)
  if (s > 0) await sleep(s * 1000)
}

/** a free TCP port on 127.0.0.1 */
export { freePort } from '../../test/helpers/ferry-process.ts'

/**
 * RSS (VmRSS, KiB) of each process once it has been idle IDLE_S seconds (default 10) after a
 * step: what a daemon keeps between syncs. NaN for a process that is gone.
 */
export async function idleRss (pids: Record<string, number>): Promise<Record<string, number>> {
  const s = envNum('IDLE_S', 10)
  if (s > 0) await sleep(s * 1000)
  const out: Record<string, number> = {}
  for (const [name, pid] of Object.entries(pids)) {
    try {
      const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:'))
      out[name] = Number(line?.split(/\s+/)[1])
    } catch { out[name] = Number.NaN }
  }
  return out
}
