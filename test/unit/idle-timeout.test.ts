import { describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { IdleTimeout } from '../../protocols/wire/idle-timeout.ts'

/** a wait for a peer that answers after `ms`, or aborts with the signal */
const answerAfter = async (ms: number, signal: AbortSignal): Promise<string> => await sleep(ms, 'answer', { signal })

describe('IdleTimeout', () => {
  it('aborts a wait that lasts longer than the timeout', async () => {
    const idle = new IdleTimeout(50)
    await expect(idle.during(async s => await answerAfter(10_000, s))).rejects.toMatchObject({ name: 'AbortError' })
    expect((idle.signal.reason as Error).name).toBe('TimeoutError')
    idle.clear()
  })

  it('counts only time spent waiting: many short waits, and long pauses between them, pass', async () => {
    const idle = new IdleTimeout(150)
    for (let i = 0; i < 10; i++) expect(await idle.during(async s => await answerAfter(30, s))).toBe('answer')
    await sleep(400) // busy elsewhere (writing to disk): the timer fires with nobody waiting
    expect(await idle.during(async s => await answerAfter(30, s))).toBe('answer')
    expect(idle.signal.aborted).toBe(false)
    idle.clear()
  })

  it("follows the caller's signal", async () => {
    const caller = new AbortController()
    const idle = new IdleTimeout(10_000, caller.signal)
    const waiting = idle.during(async s => await answerAfter(10_000, s))
    caller.abort(new Error('stop'))
    await expect(waiting).rejects.toThrow()
    idle.clear()
  })
})
