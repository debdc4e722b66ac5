import { describe, it, expect, afterEach } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, REPO, waitFor } from '../helpers/ferry-process.ts'
import type { FerryEvent } from '../../src/events/event-bus.ts'

/** `ferry events --json` as a real process: its events, its stderr, and how it exits. */
class EventsProcess {
  readonly events: FerryEvent[] = []
  stdout = ''
  stderr = ''
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  private readonly child: ChildProcess

  constructor (home: string) {
    this.child = spawn(process.execPath, [join(REPO, 'src/cli/ferry.js'), '--home', home, 'events', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let buffer = ''
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString()
      buffer += d.toString()
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line.trim() !== '') this.events.push(JSON.parse(line) as FerryEvent)
      }
    })
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString() })
    this.exited = new Promise(resolve => this.child.once('exit', (code, signal) => resolve({ code, signal })))
  }

  async event (what: string, match: (e: FerryEvent) => boolean, timeoutMs = 60_000): Promise<FerryEvent> {
    await waitFor(`${what} (stderr: ${this.stderr}; events: ${JSON.stringify(this.events.map(e => [e.type, 'path' in e ? e.path : '']))})`, () => this.events.some(match), timeoutMs)
    return this.events.find(match)!
  }

  async said (text: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(`"${text}" on stderr (stderr: ${this.stderr})`, () => this.stderr.includes(text), timeoutMs)
  }

  kill (signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
  }
}

describe('ferry events across daemon restarts', () => {
  let lab: Lab
  let tail: EventsProcess | undefined
  afterEach(async () => {
    tail?.kill('SIGKILL')
    tail = undefined
    await lab.cleanup()
  })

  it('reconnects when the daemon restarts and prints what happened while it was down; SIGINT exits 0', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    await mkdir(a.folder, { recursive: true })
    await lab.start(a)
    tail = new EventsProcess(a.home)
    await tail.said('following events')
    await writeFile(join(a.folder, 'before.txt'), 'before the restart')
    await tail.event('before.txt added', e => e.type === 'file.added' && e.path === 'before.txt')

    await lab.stop(a)
    await tail.said('the daemon stopped')
    // a change made while the daemon is down: found by its first scan, before the stream is back
    await writeFile(join(a.folder, 'while-down.txt'), 'made while the daemon was down')
    await lab.start(a)
    await tail.event('while-down.txt added after the restart', e => e.type === 'file.added' && e.path === 'while-down.txt')
    await tail.said('reconnected to the daemon')
    await writeFile(join(a.folder, 'after.txt'), 'after the restart')
    await tail.event('after.txt added', e => e.type === 'file.added' && e.path === 'after.txt')
    // each event once: the replay does not repeat what the stream had shown
    expect(tail.events.filter(e => e.type === 'file.added').map(e => 'path' in e ? e.path : '')).toEqual(['before.txt', 'while-down.txt', 'after.txt'])

    tail.kill('SIGINT')
    expect(await tail.exited).toEqual({ code: 0, signal: null })
    expect(tail.stderr).not.toMatch(/unexpected error/)
    expect(tail.stderr).not.toMatch(/events were lost/)
  })

  it('started before the daemon, it waits for it and misses none of its first events', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    await mkdir(a.folder, { recursive: true })
    await writeFile(join(a.folder, 'first.txt'), 'there before the daemon')
    tail = new EventsProcess(a.home)
    await tail.said('waiting for the daemon')
    await lab.start(a)
    // first.txt is recorded by the daemon's first scan, right as it starts
    await tail.event('first.txt added', e => e.type === 'file.added' && e.path === 'first.txt')
    await tail.said('following events')
    tail.kill('SIGINT')
    expect(await tail.exited).toEqual({ code: 0, signal: null })
    expect(tail.stderr).not.toMatch(/unexpected error|no ferry daemon/)
  })
})
