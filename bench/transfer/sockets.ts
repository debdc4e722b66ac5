/**
 * Bytes on the wire, counted by the kernel per TCP socket (`ss -tinpH`: bytes_received and
 * bytes_acked), so the figures include encryption and framing. An improvement on
 * ../socket-bytes.ts for scenarios where connections come and go:
 *
 * - counters are deltas per socket (4-tuple) between the start of a scenario and its end, so a
 *   connection that already carried traffic before the scenario is not counted twice;
 * - sockets are polled while the scenario runs, so a connection that closes mid-scenario still
 *   counts with its last observed values (`closed` says how many did; the bytes after their last
 *   poll are missing, so then the figure is a lower bound);
 * - once a socket is known, the peer's end of the same connection (the reversed 4-tuple, also on
 *   this machine) is watched too: after a SIGKILL the victim's socket is gone at once, but the
 *   survivor's end still says how much the victim's kernel acknowledged.
 */
import { execFile } from 'node:child_process'

export interface SockRow { state: string, local: string, peer: string, pids: number[], received: number, acked: number }

export async function listTcp (): Promise<SockRow[]> {
  const out = await new Promise<string>((resolve) => {
    execFile('ss', ['-tinpH'], { maxBuffer: 64 * 1024 * 1024, timeout: 10_000 }, (err, stdout) => resolve(err === null ? stdout : ''))
  })
  const rows: SockRow[] = []
  let cur: SockRow | undefined
  for (const line of out.split('\n')) {
    if (line === '') continue
    if (!line.startsWith(' ') && !line.startsWith('\t')) {
      const parts = line.trim().split(/\s+/)
      if (parts.length < 5) { cur = undefined; continue }
      const pids = [...line.matchAll(/pid=(\d+),/g)].map(m => Number(m[1]))
      cur = { state: parts[0]!, local: parts[3]!, peer: parts[4]!, pids, received: 0, acked: 0 }
      rows.push(cur)
    } else if (cur !== undefined) {
      cur.received = Number(/bytes_received:(\d+)/.exec(line)?.[1] ?? 0)
      cur.acked = Number(/bytes_acked:(\d+)/.exec(line)?.[1] ?? 0)
    }
  }
  return rows
}

const portOf = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1))

/** sockets owned by one of `pids` (when given) with a local or peer port in `ports` (when given) */
export interface Selector { pids?: number[], ports?: number[] }
export interface WireBytes { received: number, sent: number, sockets: number, closed: number }

interface Tracked { base: { received: number, acked: number }, last: { received: number, acked: number }, seenAtEnd: boolean }

class Group {
  readonly sel: { pids: Set<number>, ports: Set<number> }
  readonly socks = new Map<string, Tracked>()
  constructor (sel: Selector) {
    this.sel = { pids: new Set(sel.pids ?? []), ports: new Set(sel.ports ?? []) }
  }

  /** owned by one of the PIDs (if any given) and on one of the ports (if any given) */
  matches (r: SockRow): boolean {
    if (this.sel.pids.size > 0 && !r.pids.some(p => this.sel.pids.has(p))) return false
    return this.sel.ports.size === 0 || this.sel.ports.has(portOf(r.local)) || this.sel.ports.has(portOf(r.peer))
  }
}

/**
 * Tracks named groups of sockets (by owning PID and/or port) over one scenario:
 * `start()` takes the baseline and polls every `pollMs`, `stop()` returns per-group deltas.
 */
export class SocketTracker {
  private readonly groups = new Map<string, Group>()
  private timer?: NodeJS.Timeout
  private polling?: Promise<void>
  private readonly pollMs: number

  constructor (groups: Record<string, Selector>, pollMs = 200) {
    for (const [name, sel] of Object.entries(groups)) this.groups.set(name, new Group(sel))
    this.pollMs = pollMs
  }

  addPid (group: string, pid: number): void { this.groups.get(group)?.sel.pids.add(pid) }

  async start (): Promise<void> {
    await this.poll(true)
    this.timer = setInterval(() => { if (this.polling === undefined) this.polling = this.poll(false).finally(() => { this.polling = undefined }) }, this.pollMs)
  }

  /** one observation now (also call it right before killing a tracked process) */
  async poll (baseline = false): Promise<void> {
    const rows = await listTcp()
    const byKey = new Map<string, SockRow>()
    for (const r of rows) byKey.set(`${r.local}>${r.peer}`, r)
    for (const g of this.groups.values()) {
      for (const t of g.socks.values()) t.seenAtEnd = false
      for (const r of rows) {
        const key = `${r.local}>${r.peer}`
        if (!g.socks.has(key) && g.matches(r) && r.state !== 'LISTEN') {
          const v = { received: r.received, acked: r.acked }
          // a socket first seen after the baseline is new: it counts from zero
          g.socks.set(key, { base: baseline ? v : { received: 0, acked: 0 }, last: { ...v }, seenAtEnd: true })
        }
      }
      for (const [key, t] of g.socks) {
        const own = byKey.get(key)
        const [l, p] = key.split('>') as [string, string]
        const rev = byKey.get(`${p}>${l}`)
        if (own !== undefined) {
          t.seenAtEnd = true
          t.last.received = Math.max(t.last.received, own.received)
          t.last.acked = Math.max(t.last.acked, own.acked)
        }
        if (rev !== undefined) {
          // what the peer's kernel sent and got acknowledged, we received (and vice versa)
          t.last.received = Math.max(t.last.received, rev.acked)
          t.last.acked = Math.max(t.last.acked, rev.received)
        }
      }
    }
  }

  async stop (): Promise<Record<string, WireBytes>> {
    clearInterval(this.timer)
    if (this.polling !== undefined) await this.polling
    await this.poll(false)
    const out: Record<string, WireBytes> = {}
    for (const [name, g] of this.groups) {
      let received = 0
      let sent = 0
      let closed = 0
      for (const t of g.socks.values()) {
        received += t.last.received - t.base.received
        sent += t.last.acked - t.base.acked
        if (!t.seenAtEnd) closed++
      }
      out[name] = { received, sent, sockets: g.socks.size, closed }
    }
    return out
  }
}
