import { describe, it, expect } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ferryOk, freePort, status, waitConverged, waitFor } from '../helpers/ferry-process.ts'
import { useRelay, useRelayLabs } from '../helpers/relay-process.ts'

describe('the relay is a circuit relay for its devices', () => {
  const env = useRelayLabs()

  it('two devices that cannot be dialed directly (no listener, as behind NATs) connect through the relay and sync', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b')
    // each knows the other only at an address where nothing listens
    const dead = `/ip4/127.0.0.1/tcp/${await freePort()}`
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--addr', dead, '--name', 'b'])
    await ferryOk(['--home', b.home, 'device', 'add', a.id, '--addr', dead, '--name', 'a'])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await ferryOk(['--home', b.home, 'share', 'docs', a.id])
    await useRelay(a, r)
    await useRelay(b, r)
    // neither listens on TCP: the DHT can tell where they are, but only a relayed dial works
    await Promise.all([lab.start(a, { listen: '/p2p-circuit' }), lab.start(b, { listen: '/p2p-circuit' })])
    await waitFor('a and b connected through the relay', async () => {
      const peer = (await status(b)).peers.find(p => p.id === a.id)
      return peer?.connected === true && peer.addrs.some(x => x.includes('/p2p-circuit'))
    }, 60_000).catch(err => { throw new Error(`${(err as Error).message}\n${a.log.slice(-2000)}\n${b.log.slice(-2000)}`) })
    await writeFile(join(a.folder, 'hello.txt'), 'through the relay')
    const tree = await waitConverged([a, b], 60_000)
    expect(tree.has('hello.txt')).toBe(true)
    // a change on b reaches a while both are online, over the relayed connection or the relay's store
    await writeFile(join(b.folder, 'reply.txt'), 'back again')
    expect((await waitConverged([a, b], 60_000)).has('reply.txt')).toBe(true)
  })
})

describe('the relay is a DHT member for its devices', () => {
  const env = useRelayLabs()

  it('a device with no address for another finds it through the private DHT and connects directly', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b')
    // trust without any address: only the relay knows where the other is
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--name', 'b'])
    await ferryOk(['--home', b.home, 'device', 'add', a.id, '--name', 'a'])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await ferryOk(['--home', b.home, 'share', 'docs', a.id])
    await useRelay(a, r)
    await useRelay(b, r)
    await Promise.all([lab.start(a), lab.start(b)])
    // either may find the other first: a connection b dialed shows at a with b's outgoing port,
    // so what counts is a TCP connection, not the address it came from
    await waitFor('a and b connected directly', async () => {
      const peer = (await status(a)).peers.find(p => p.id === b.id)
      return peer?.connected === true && peer.transport === 'tcp' && peer.addrs.some(x => x.includes('/tcp/') && !x.includes('/p2p-circuit'))
    }, 120_000).catch(async err => {
      const peer = (await status(a).catch(() => undefined))?.peers.find(p => p.id === b.id)
      throw new Error(`${(err as Error).message}\nb at a: ${JSON.stringify(peer)}\n${a.log.slice(-2000)}\n${b.log.slice(-2000)}`)
    })
    await writeFile(join(a.folder, 'found.txt'), 'via the dht')
    expect((await waitConverged([a, b], 60_000)).has('found.txt')).toBe(true)
  })
})
