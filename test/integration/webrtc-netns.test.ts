import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ferryOk, Lab, status, waitConverged, waitFor } from '../helpers/ferry-process.ts'
import { RelayLab, relayStatus, useRelay } from '../helpers/relay-process.ts'

/**
 * WebRTC between two devices introduced by a relay. ICE needs an interface other than loopback,
 * so everything runs in a network namespace of this test's own with a veth pair (10.201.0.1 and
 * 10.201.0.2); the relay listens on the first, its STUN server on the same port number on UDP.
 * The devices listen on no TCP address at all: they reach each other first through the relay,
 * then over WebRTC, signalled through it.
 */
const NETNS = `ferry-webrtc-${process.pid}`
const RELAY_HOST = '10.201.0.1'

function netnsAvailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace'
  try {
    execFileSync('ip', ['netns', 'add', NETNS], { stdio: 'pipe' })
    execFileSync('ip', ['netns', 'del', NETNS], { stdio: 'pipe' })
  } catch (err) { return `cannot create a network namespace: ${(err as Error).message.split('\n')[0]!}` }
  return undefined
}

const unavailable = netnsAvailable()
if (unavailable !== undefined) console.warn(`webrtc-netns: skipped: ${unavailable}`)

describe.skipIf(unavailable !== undefined)('WebRTC between devices, introduced by a relay', () => {
  const lab = new Lab()
  const relays = new RelayLab()
  beforeAll(async () => {
    const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'pipe' }) }
    ip('netns', 'add', NETNS)
    ip('-n', NETNS, 'link', 'set', 'lo', 'up')
    ip('-n', NETNS, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb')
    ip('-n', NETNS, 'addr', 'add', `${RELAY_HOST}/24`, 'dev', 'va')
    ip('-n', NETNS, 'addr', 'add', '10.201.0.2/24', 'dev', 'vb')
    ip('-n', NETNS, 'link', 'set', 'va', 'up')
    ip('-n', NETNS, 'link', 'set', 'vb', 'up')
    await lab.setup()
    await relays.setup()
  })
  afterAll(async () => {
    await lab.cleanup()
    await relays.cleanup()
    try { execFileSync('ip', ['netns', 'del', NETNS], { stdio: 'pipe' }) } catch {}
  })

  it('connect over WebRTC and sync a file over it, with the relay gone', async () => {
    const r = await relays.relay('relay', { host: RELAY_HOST, netns: NETNS })
    expect((await relayStatus(r)).stun?.address).toBe(`udp ${RELAY_HOST}:${r.port}`)
    const a = await lab.device('a')
    const b = await lab.device('b')
    // no address for each other: only the relay knows where they are
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--name', 'b'])
    await ferryOk(['--home', b.home, 'device', 'add', a.id, '--name', 'a'])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await ferryOk(['--home', b.home, 'share', 'docs', a.id])
    await useRelay(a, r)
    await useRelay(b, r)
    await Promise.all([lab.start(a, { netns: NETNS, listen: '/p2p-circuit' }), lab.start(b, { netns: NETNS, listen: '/p2p-circuit' })])
    const logs = (): string => `\n--- a\n${a.log.slice(-3000)}\n--- b\n${b.log.slice(-3000)}\n--- relay\n${r.log.slice(-1500)}`
    let seen: string[] = []
    await waitFor('a and b connected over WebRTC, and only so', async () => {
      const peer = (await status(a)).peers.find(p => p.id === b.id)
      seen = peer?.addrs ?? []
      return peer?.connected === true && peer.addrs.length > 0 && peer.addrs.every(x => x.includes('/webrtc'))
    }, 120_000).catch(err => { throw new Error(`${(err as Error).message}; a's connections to b: ${seen.join(', ')}${logs()}`) })
    // the relay's STUN server was asked (the devices' only ICE server)
    expect((await relayStatus(r)).stun?.answered).toBeGreaterThan(0)
    // with the relay gone, neither its store nor a relayed connection can carry the file
    await relays.stop(r)
    await writeFile(join(a.folder, 'direct.txt'), 'over webrtc')
    const tree = await waitConverged([a, b], 90_000).catch(err => { throw new Error(`${(err as Error).message}${logs()}`) })
    expect(tree.has('direct.txt')).toBe(true)
    const peer = (await status(b)).peers.find(p => p.id === a.id)
    expect(peer?.addrs.some(x => x.includes('/webrtc'))).toBe(true)
  })
})
