import { describe, it, expect, afterEach } from 'vitest'
import { createServer, connect, type Server } from 'node:net'
import { Lab, ferryOk } from '../helpers/ferry-process.ts'

describe('redials back off', () => {
  let lab: Lab
  let proxy: Server | undefined
  afterEach(async () => { proxy?.close(); await lab.cleanup() })

  it('a device the other side refuses is redialled only a handful of times', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.start(b, { mdns: true })
    let attempts = 0
    proxy = createServer(s => {
      attempts++
      const t = connect(b.port, '127.0.0.1')
      s.pipe(t); t.pipe(s)
      s.on('error', () => t.destroy()); t.on('error', () => s.destroy())
    })
    await new Promise<void>(resolve => proxy!.listen(0, '127.0.0.1', () => resolve()))
    const port = (proxy.address() as { port: number }).port
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--addr', `/ip4/127.0.0.1/tcp/${port}`])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await lab.start(a, { mdns: true })
    const t0 = Date.now()
    for (let i = 0; i < 20; i++) { await new Promise(r => setTimeout(r, 1000)); console.log(Date.now() - t0, attempts) }
    console.log(a.log.split('\n').length, b.log.split('\n').length)
    console.log(a.log.slice(0, 1500)); console.log(b.log.slice(0, 1500))
    expect(attempts).toBeLessThan(8)
  })
})
