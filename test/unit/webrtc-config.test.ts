import { describe, it, expect, afterEach } from 'vitest'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNode, type FerryNode } from '../../src/node/create-node.ts'
import { iceServersOf, stunUrlOf } from '../../src/node/webrtc-config.ts'

/** the public STUN servers @libp2p/webrtc falls back to (read from the installed package) */
async function libp2pDefaultIceServers (): Promise<string[]> {
  const pkg = createRequire(import.meta.url).resolve('@libp2p/webrtc')
  const text = await readFile(join(dirname(pkg), 'constants.js'), 'utf8')
  const list = /DEFAULT_ICE_SERVERS = \[([^\]]*)\]/.exec(text)?.[1] ?? ''
  return [...list.matchAll(/'(stun:[^']+)'/g)].map(m => m[1]!)
}

describe('the ICE servers of a device', () => {
  it('are the STUN servers of its relays, at their TCP port number', () => {
    expect(stunUrlOf('/ip4/203.0.113.7/tcp/4001')).toBe('stun:203.0.113.7:4001')
    expect(stunUrlOf('/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN')).toBe('stun:203.0.113.7:4001')
    expect(stunUrlOf('/ip6/2001:db8::1/tcp/9')).toBe('stun:[2001:db8::1]:9')
    expect(stunUrlOf('/dns4/relay.example.org/tcp/4001')).toBe('stun:relay.example.org:4001')
    for (const none of ['/ip4/1.2.3.4/udp/5', '/memory/x', '/ip4/1.2.3.4/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit', 'garbage', '']) {
      expect(stunUrlOf(none)).toBeUndefined()
    }
    expect(iceServersOf(['/ip4/10.0.0.1/tcp/4001', '/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN', '/ip4/10.0.0.2/tcp/7']))
      .toEqual([{ urls: 'stun:10.0.0.1:4001' }, { urls: 'stun:10.0.0.2:7' }])
  })

  it('are none without a relay', () => {
    expect(iceServersOf([])).toEqual([])
  })

  describe('as the node passes them to @libp2p/webrtc', () => {
    let node: FerryNode | undefined
    afterEach(async () => { await node?.stop(); node = undefined })

    it('hold the relays\' STUN servers and none of libp2p\'s public ones; the node listens on /webrtc', async () => {
      const defaults = await libp2pDefaultIceServers()
      expect(defaults.length).toBeGreaterThan(0)
      let relays: string[] = []
      node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], isTrusted: () => true, mdns: false, webrtc: { relayAddrs: () => relays } })
      const transports = (node as unknown as { components: { transportManager: { getTransports: () => Array<{ [Symbol.toStringTag]: string, init?: { rtcConfiguration?: () => { iceServers: Array<{ urls: string }> } } }> } } }).components.transportManager.getTransports()
      const webrtc = transports.find(t => t[Symbol.toStringTag] === '@libp2p/webrtc')
      const rtcConfiguration = webrtc?.init?.rtcConfiguration
      expect(typeof rtcConfiguration).toBe('function')
      expect(rtcConfiguration!().iceServers).toEqual([])
      relays = ['/ip4/192.0.2.1/tcp/4001']
      const servers = rtcConfiguration!().iceServers
      expect(servers).toEqual([{ urls: 'stun:192.0.2.1:4001' }])
      for (const s of servers) expect(defaults).not.toContain(s.urls)
      expect(node.getMultiaddrs().length).toBeGreaterThan(0)
      expect((node as unknown as { components: { addressManager: { getListenAddrs: () => Array<{ toString: () => string }> } } }).components.addressManager.getListenAddrs().map(String)).toContain('/webrtc')
    })
  })
})
