import { describe, it, expect, afterEach } from 'vitest'
import { createServer, connect, type Server } from 'node:net'
import { Lab, ferryOk, waitFor } from '../helpers/ferry-process.ts'

const WINDOW_MS = 30_000

/** A TCP proxy to 127.0.0.1:`port` that counts the connections made through it. */
async function countingProxy (port: number): Promise<{ server: Server, port: number, attempts: number[] }> {
  const attempts: number[] = []
  const server = createServer(s => {
    attempts.push(Date.now())
    const t = connect(port, '127.0.0.1')
    s.pipe(t); t.pipe(s)
    s.on('error', () => t.destroy())
    t.on('error', () => s.destroy())
    s.on('close', () => t.destroy())
    t.on('close', () => s.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  return { server, port: (server.address() as { port: number }).port, attempts }
}

describe('redials back off', () => {
  let lab: Lab
  let proxy: Server | undefined
  afterEach(async () => {
    proxy?.close()
    await lab.cleanup()
  })

  it('a device the other side refuses (it does not trust us) is redialled only a handful of times', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.start(b)
    const counted = await countingProxy(b.port)
    proxy = counted.server
    // a trusts b (at the proxy's address); b never heard of a, so its gater closes every connection
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--addr', `/ip4/127.0.0.1/tcp/${counted.port}`])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await lab.start(a)
    await waitFor('a first dial of b', () => counted.attempts.length > 0)
    const first = counted.attempts[0]!
    await waitFor(`${WINDOW_MS} ms of dials`, () => Date.now() - first >= WINDOW_MS, WINDOW_MS + 10_000)
    const inWindow = counted.attempts.filter(t => t - first < WINDOW_MS).length
    // without backoff: one dial round every 3 s (10 or more); with it: 1-2 s, 2-4 s, 4-8 s, ...
    expect(inWindow).toBeGreaterThanOrEqual(2)
    expect(inWindow).toBeLessThanOrEqual(6)
    expect(a.log).not.toMatch(/Error|TypeError/)
  })
})
