import { lstat, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { callDaemon } from '../../src/control/control-client.ts'
import type { Revision } from '../../src/history/revisions.ts'
import { Lab, status, type Device } from './ferry-process.ts'
import { RelayLab, type Relay } from './relay-process.ts'
import { decodeVersion } from './chaos-content.ts'

/** One of the chaos test's processes (a device or the relay): killed and restarted at random. */
export class ChaosProc {
  state: 'up' | 'down' | 'starting' = 'up'
  restartAt = 0
  private starting?: Promise<void>
  /** relay output of earlier runs (RelayLab.start forgets it) */
  readonly oldLogs: string[] = []

  readonly name: string
  readonly node: Device | Relay
  private readonly lab: Lab | RelayLab
  constructor (name: string, lab: Lab | RelayLab, node: Device | Relay) {
    this.name = name
    this.lab = lab
    this.node = node
  }

  async kill (): Promise<void> {
    if (this.state !== 'up') return
    this.state = 'down'
    if (this.lab instanceof Lab) await this.lab.stop(this.node as Device, 'SIGKILL')
    else await this.lab.stop(this.node, 'SIGKILL')
  }

  /** starts it in the background; `state` is 'up' once it runs */
  start (): void {
    if (this.state !== 'down') return
    this.state = 'starting'
    if (!(this.lab instanceof Lab)) this.oldLogs.push(this.node.log)
    const started = this.lab instanceof Lab ? this.lab.start(this.node as Device) : this.lab.start(this.node)
    // a start that fails (the process exits first) is reported by settled(), not left unhandled
    this.starting = started.then(() => { this.state = 'up' }, err => {
      this.state = 'down'
      this.failed = err as Error
    })
  }

  failed?: Error

  /** waits for a start under way; throws if the process exited before it ran */
  async settled (): Promise<void> {
    await this.starting
    if (this.failed !== undefined) throw this.failed
  }
}

export interface FileEntry { path: string, dir: boolean }

/** Everything under a folder but its internal area, as relative paths (racing changes tolerated). */
export async function listFolder (root: string, under = ''): Promise<FileEntry[]> {
  const out: FileEntry[] = []
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(root, rel), { withFileTypes: true }).catch(() => [])
    for (const e of entries) {
      if (rel === '' && e.name === '.ferry') continue
      const p = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) { out.push({ path: p, dir: true }); await walk(p) } else if (e.isFile()) out.push({ path: p, dir: false })
    }
  }
  await walk(under)
  return out
}

/** Reads a file and decodes it as a version: undefined if it is gone (or is not a file) by now. */
export async function readVersion (file: string): Promise<ReturnType<typeof decodeVersion> | undefined> {
  try {
    if (!(await lstat(file)).isFile()) return undefined
    return decodeVersion(await readFile(file))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined
    throw err
  }
}

/** The version ids held by every file under `root` (a folder, or its trash); bad files listed apart. */
export async function versionsUnder (root: string): Promise<{ ids: Map<string, string>, bad: string[] }> {
  const ids = new Map<string, string>()
  const bad: string[] = []
  for (const e of await listFolder(root)) {
    if (e.dir) continue
    const v = await readVersion(join(root, e.path))
    if (v === undefined) continue
    if ('error' in v) bad.push(`${e.path}: ${v.error}`)
    else ids.set(v.header.id, e.path)
  }
  return { ids, bad }
}

/** The versions of `path` that the daemon of `d` knows (its records and history). */
export async function revisionsOn (d: Device, path: string): Promise<Revision[]> {
  const q = new URLSearchParams({ folder: 'docs', path })
  return await callDaemon<Revision[]>(d.home, 'GET', `/revisions?${q.toString()}`)
}

/** Whether a record of `path` on `d` has this size and mtime (one version as its device scanned it). */
export async function hasRecord (d: Device, paths: readonly string[], size: number, mtimeMs: number): Promise<boolean> {
  for (const p of paths) {
    const revs = await revisionsOn(d, p).catch(() => [])
    if (revs.some(r => !r.deleted && r.size === size && Math.abs(Date.parse(r.time) - mtimeMs) < 1.5)) return true
  }
  return false
}

/** Transfers under way on `d` (0 when it does not answer). */
export async function transfersOn (d: Device): Promise<number> {
  try { return (await status(d)).folders[0]!.transfers.length } catch { return 0 }
}

/** The folder entry of `d`'s config.json gets `"deleteProtection": {"enabled": false}`. */
export async function disableDeleteProtection (d: Device): Promise<void> {
  const file = join(d.home, 'config.json')
  const config = JSON.parse(await readFile(file, 'utf8')) as { folders: Record<string, Record<string, unknown>> }
  for (const f of Object.values(config.folders)) f.deleteProtection = { enabled: false }
  await writeFile(file, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
}
