import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferryOk, status, waitConverged, waitFor, type Device } from '../helpers/ferry-process.ts'
import { RelayLab, useRelay, type Relay } from '../helpers/relay-process.ts'
import { NatLab, RELAY_IP, natLabUnavailable } from '../helpers/nat-lab.ts'

const unavailable = natLabUnavailable()
if (unavailable !== undefined) console.warn(`nat-traversal: skipped: ${unavailable}`)

/** Two devices, each behind its own strict home NAT; they know only the relay's public address. */
describe.skipIf(unavailable !== undefined)('devices behind two NATs', () => {
  let net: NatLab
  let lab: Lab
  let relays: RelayLab
  beforeEach(async () => {
    net = new NatLab()
    lab = new Lab()
    relays = new RelayLab()
    // strict homes (random ports): no punch can work, so the relayed path is the one to see
    await net.setup([{ strict: true }, { strict: true }])
    await lab.setup()
    await relays.setup()
  })
  afterEach(async () => {
    await lab.cleanup()
    await relays.cleanup()
    net.cleanup()
  })

  async function twoHomesAndARelay (): Promise<{ a: Device, b: Device, r: Relay }> {
    const r = await relays.relay('relay', { netns: net.pub, ip: RELAY_IP })
    const a = await lab.device('a')
    const b = await lab.device('b')
    // trust without any address: only the relay is known, at its public address
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--name', 'b'])
    await ferryOk(['--home', b.home, 'device', 'add', a.id, '--name', 'a'])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await ferryOk(['--home', b.home, 'share', 'docs', a.id])
    await useRelay(a, r)
    await useRelay(b, r)
    return { a, b, r }
  }

  const inHome = (i: number): { netns: string, listen: string } => ({ netns: net.homes[i]!.netns, listen: '/ip4/0.0.0.0/tcp/0' })

  it('no daemon of the tests looks for a UPnP router', () => {
    expect(process.env.FERRY_UPNP).toBe('0')
  })

  it('sync through the relay when the NATs let no dial in, and the status says relayed (circuit)', async () => {
    const { a, b, r } = await twoHomesAndARelay()
    await Promise.all([lab.start(a, inHome(0)), lab.start(b, inHome(1))])
    const started = Date.now()
    await waitFor('a and b connected', async () => (await status(a)).peers.find(p => p.id === b.id)?.connected === true, 120_000)
      .catch(err => { throw new Error(`${(err as Error).message}\n${a.log.slice(-2000)}\n${b.log.slice(-2000)}\n${r.log.slice(-3000)}`) })
    const connectedMs = Date.now() - started
    // neither device kept losing its relay on the way (AutoNAT's dial-back closed it at every
    // connect, several times before a and b met: autonat-dial-back.ts; one drop on a loaded
    // machine is allowed) nor took its relay's "not a member" (our member list not there yet)
    // for a removal
    for (const d of [a, b]) {
      expect(d.log.match(/peer disconnected: relay/g)?.length ?? 0, `${d.name}\n${d.log}`).toBeLessThanOrEqual(1)
      expect(d.log, d.name).not.toMatch(/removed from this folder/)
    }
    const peer = (await status(a)).peers.find(p => p.id === b.id)!
    // b's only address a could reach: through the relay (the NATs let no dial in)
    expect(peer.addrs.every(x => x.includes('/p2p-circuit'))).toBe(true)
    expect(peer).toMatchObject({ path: 'relayed', transport: 'circuit' })
    expect(await ferryOk(['--home', a.home, 'status'])).toMatch(/^ *b +\S+ +connected +relayed \(circuit\)/m)
    await writeFile(join(a.folder, 'hello.txt'), 'across two NATs')
    const t0 = Date.now()
    await waitConverged([a, b], 120_000)
    console.log(`nat-traversal: connected through the relay after ${connectedMs} ms; a file synced in ${Date.now() - t0} ms`)
    expect(await readFile(join(b.folder, 'hello.txt'), 'utf8')).toBe('across two NATs')
  })

  it('a relay added while the daemons run is used at once: reservations, then a relayed connection and sync, no restart', async () => {
    const r = await relays.relay('relay', { netns: net.pub, ip: RELAY_IP })
    const a = await lab.device('a')
    const b = await lab.device('b')
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--name', 'b'])
    await ferryOk(['--home', b.home, 'device', 'add', a.id, '--name', 'a'])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await ferryOk(['--home', b.home, 'share', 'docs', a.id])
    await writeFile(join(a.folder, 'later.txt'), 'once there is a relay')
    await Promise.all([lab.start(a, inHome(0)), lab.start(b, inHome(1))])
    expect((await status(a)).listenAddrs.some(x => x.includes('/p2p-circuit'))).toBe(false)
    const added = Date.now()
    await useRelay(a, r)
    await useRelay(b, r)
    await waitFor('a holds a reservation on the relay', async () => (await status(a)).listenAddrs.some(x => x.includes(`/p2p/${r.id}/p2p-circuit`)), 120_000)
    const reservedMs = Date.now() - added
    await waitFor('a and b connected through the relay', async () => (await status(b)).peers.find(p => p.id === a.id)?.path === 'relayed', 120_000)
      .catch(err => { throw new Error(`${(err as Error).message}\n${a.log.slice(-2000)}\n${b.log.slice(-2000)}`) })
    await waitConverged([a, b], 120_000)
    console.log(`nat-traversal: relay added at run time: reservation after ${reservedMs} ms, synced ${Date.now() - added} ms after adding it`)
    expect(await readFile(join(b.folder, 'later.txt'), 'utf8')).toBe('once there is a relay')
  })
})
