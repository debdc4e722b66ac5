import { describe, it, expect } from 'vitest'
import { Writable } from 'node:stream'
import { ProgressView } from '../../src/cli/progress-view.ts'
import { TransferProgress } from '../../src/sync/transfer-progress.ts'

function sink (): { out: Writable, text: () => string } {
  let buf = ''
  const out = new Writable({ write (chunk, _enc, cb) { buf += String(chunk); cb() } })
  return { out, text: () => buf }
}

describe('transfer progress', () => {
  it('reports done bytes, rate and ETA per file', () => {
    const p = new TransferProgress('docs')
    p.start('big.bin', 1000)
    p.add('big.bin', 250)
    const [t] = p.list(Date.now() + 1000)
    expect(t).toMatchObject({ folder: 'docs', path: 'big.bin', sizeBytes: 1000, doneBytes: 250 })
    expect(t!.bytesPerSecond).toBeGreaterThan(0)
    expect(t!.etaSeconds).toBeGreaterThan(0)
    p.end('big.bin')
    expect(p.list()).toEqual([])
  })

  it('logs one line per file at most every interval when not on a terminal', () => {
    const { out, text } = sink()
    const view = new ProgressView(out, { tty: false, lineIntervalMs: 5000 })
    const t0 = 1_000_000
    const transfer = { folder: 'docs', path: 'big.bin', sizeBytes: 100, doneBytes: 10, bytesPerSecond: 10, etaSeconds: 9, startedAt: t0 }
    view.update([transfer], t0 + 1000) // too early: a quick file never gets a line
    expect(text()).toBe('')
    view.update([transfer], t0 + 5000)
    view.update([{ ...transfer, doneBytes: 50 }], t0 + 6000) // within the interval: nothing
    view.update([{ ...transfer, doneBytes: 90 }], t0 + 10_000)
    const lines = text().trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain('docs/big.bin: 10% of 100 B')
    expect(lines[1]).toContain('90%')
  })

  it('draws one bar in place on a terminal and clears it for log lines', () => {
    const { out, text } = sink()
    const view = new ProgressView(out, { tty: true })
    view.update([{ folder: 'docs', path: 'a', sizeBytes: 100, doneBytes: 50, bytesPerSecond: 10, etaSeconds: 5, startedAt: 0 }])
    expect(text()).toMatch(/^\r\x1b\[2K\[#{12}\.{12}\] 50 B\/100 B 10 B\/s ETA 5 s a$/)
    view.print('a log line')
    expect(text().endsWith('\r\x1b[2Ka log line\n')).toBe(true)
  })
})
