import { describe, expect, it } from 'vitest'
import { startAll, stopAll, type Startable } from '../../src/lifecycle/components.ts'

function recorder (): { log: string[], part: (name: string, opts?: { failStart?: boolean, failStop?: boolean, beforeStop?: boolean }) => Startable } {
  const log: string[] = []
  return {
    log,
    part: (name, opts = {}) => ({
      name,
      start: async () => {
        log.push(`start ${name}`)
        if (opts.failStart === true) throw new Error(`${name} failed`)
      },
      stop: async () => {
        log.push(`stop ${name}`)
        if (opts.failStop === true) throw new Error(`${name} stop failed`)
      },
      ...(opts.beforeStop === true ? { beforeStop: async () => { log.push(`beforeStop ${name}`) } } : {})
    })
  }
}

describe('startAll / stopAll', () => {
  it('starts in order and stops in reverse, every beforeStop first', async () => {
    const r = recorder()
    const parts = [r.part('a', { beforeStop: true }), r.part('b'), r.part('c', { beforeStop: true })]
    await startAll(parts)
    await stopAll(parts)
    expect(r.log).toEqual(['start a', 'start b', 'start c', 'beforeStop c', 'beforeStop a', 'stop c', 'stop b', 'stop a'])
  })

  it('a failed start stops what started, in reverse, not the failed part, and rethrows', async () => {
    const r = recorder()
    await expect(startAll([r.part('a'), r.part('b'), r.part('c', { failStart: true }), r.part('d')])).rejects.toThrow('c failed')
    expect(r.log).toEqual(['start a', 'start b', 'start c', 'stop b', 'stop a'])
  })

  it('stops every part even if one fails, and rethrows the first failure', async () => {
    const r = recorder()
    const parts = [r.part('a'), r.part('b', { failStop: true }), r.part('c', { failStop: true })]
    await expect(stopAll(parts)).rejects.toThrow('c stop failed')
    expect(r.log).toEqual(['stop c', 'stop b', 'stop a'])
  })
})
