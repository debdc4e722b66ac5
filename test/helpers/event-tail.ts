import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { REPO, waitFor } from './ferry-process.ts'
import type { FerryEvent } from '../../src/events/event-bus.ts'

/** `ferry events --json` as a real process, its events collected as they arrive. */
export class EventTail {
  readonly events: FerryEvent[] = []
  /** output lines when not --json */
  readonly lines: string[] = []
  stderr = ''
  private readonly child: ChildProcess

  constructor (home: string, options: { json?: boolean } = {}) {
    const json = options.json ?? true
    this.child = spawn(process.execPath, [join(REPO, 'src/cli/ferry.js'), '--home', home, 'events', ...(json ? ['--json'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
    let buffer = ''
    this.child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString()
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line.trim() === '') continue
        if (json) this.events.push(JSON.parse(line) as FerryEvent)
        else this.lines.push(line)
      }
    })
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString() })
  }

  /** Waits for an event matching `match` and returns it. */
  async next (what: string, match: (e: FerryEvent) => boolean, timeoutMs = 30_000): Promise<FerryEvent> {
    let found: FerryEvent | undefined
    try {
      await waitFor(what, () => {
        found = this.events.find(match)
        return found !== undefined
      }, timeoutMs)
    } catch (err) {
      throw new Error(`${(err as Error).message} (events so far: ${JSON.stringify(this.events.map(e => [e.type, 'path' in e ? e.path : 'device' in e ? e.device : e.folder]))}; stderr: ${this.stderr})`)
    }
    return found!
  }

  /** Resolves once the stream is open (events from now on reach it). */
  async ready (timeoutMs = 30_000): Promise<this> {
    await waitFor(`ferry events to connect (stderr: ${this.stderr})`, () => this.stderr.includes('following events'), timeoutMs)
    return this
  }

  async stop (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise(resolve => this.child.once('exit', resolve))
    this.child.kill('SIGTERM')
    await exited
  }
}
