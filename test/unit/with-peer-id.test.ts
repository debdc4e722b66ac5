import { describe, it, expect } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { withPeerId } from '../../src/replica/relayed-dial.ts'

const PEER = '12D3KooWSzVY3N4ucCJAAHArEjDMhBTXbuCAWvbTLFqiiY5XEa4K'
const RELAY = '12D3KooWPyKDZW8yXgi7bryaTTuwkiE5dzd9S3TZCdcFu4NZ6VaF'

describe('withPeerId (the addresses of a direct dial)', () => {
  it('ends every address in the peer\'s id, a WebRTC one naming its relay included', () => {
    const addrs = [`/ip4/10.1.0.2/tcp/41563/p2p/${PEER}`, '/ip4/10.1.0.2/tcp/41563', `/ip4/11.77.0.1/tcp/46641/p2p/${RELAY}/p2p-circuit/webrtc`]
    const out = addrs.map(a => withPeerId(a, PEER))
    expect(out).toEqual([`/ip4/10.1.0.2/tcp/41563/p2p/${PEER}`, `/ip4/10.1.0.2/tcp/41563/p2p/${PEER}`, `/ip4/11.77.0.1/tcp/46641/p2p/${RELAY}/p2p-circuit/webrtc/p2p/${PEER}`])
    // what libp2p checks before dialing a list: the same peer id last on each
    expect(new Set(out.map(a => multiaddr(a).getComponents().filter(c => c.name === 'p2p').at(-1)?.value))).toEqual(new Set([PEER]))
  })
})
