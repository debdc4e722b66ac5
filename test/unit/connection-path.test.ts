import { describe, it, expect } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection } from '@libp2p/interface'
import { bestRoute, routeOf, transportOf } from '../../src/node/connection-path.ts'

const ID = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const RELAY = '12D3KooWGRUVh7JDpX4WUWWXoD5gPTdpWwD8Dng2bYAvrDxNWBGv'
const conn = (addr: string, status = 'open'): Connection => ({ remoteAddr: multiaddr(addr), status }) as unknown as Connection
const never = (): boolean => false

describe('the path and transport of a connection', () => {
  it('tells the transport from the remote address', () => {
    expect(transportOf(conn(`/ip4/11.77.0.12/tcp/4001/p2p/${ID}`))).toBe('tcp')
    expect(transportOf(conn(`/ip4/11.77.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${ID}`))).toBe('circuit')
    expect(transportOf(conn(`/ip4/11.77.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/webrtc/p2p/${ID}`))).toBe('webrtc')
    expect(transportOf(conn('/memory/a'))).toBe('memory')
  })

  it('private and loopback addresses are the LAN; public ones direct; circuits relayed; WebRTC and DCUtR dials punched', () => {
    expect(routeOf(conn(`/ip4/10.1.0.2/tcp/4001/p2p/${ID}`), never)).toEqual({ path: 'lan', transport: 'tcp' })
    expect(routeOf(conn(`/ip4/127.0.0.1/tcp/4001/p2p/${ID}`), never)).toEqual({ path: 'lan', transport: 'tcp' })
    expect(routeOf(conn(`/ip4/192.168.1.20/tcp/4001/p2p/${ID}`), never).path).toBe('lan')
    expect(routeOf(conn(`/ip4/11.77.0.12/tcp/4001/p2p/${ID}`), never)).toEqual({ path: 'direct', transport: 'tcp' })
    expect(routeOf(conn(`/ip4/11.77.0.1/tcp/1/p2p/${RELAY}/p2p-circuit/p2p/${ID}`), never)).toEqual({ path: 'relayed', transport: 'circuit' })
    expect(routeOf(conn(`/ip4/11.77.0.1/tcp/1/p2p/${RELAY}/p2p-circuit/webrtc/p2p/${ID}`), never)).toEqual({ path: 'punched', transport: 'webrtc' })
    const punched = conn(`/ip4/11.77.0.12/tcp/40123/p2p/${ID}`)
    expect(routeOf(punched, c => c === punched)).toEqual({ path: 'punched', transport: 'tcp' })
  })

  it('a peer\'s path is its best open connection', () => {
    const relayed = conn(`/ip4/11.77.0.1/tcp/1/p2p/${RELAY}/p2p-circuit/p2p/${ID}`)
    const direct = conn(`/ip4/11.77.0.12/tcp/4001/p2p/${ID}`)
    expect(bestRoute([relayed, direct], never)?.path).toBe('direct')
    expect(bestRoute([relayed, conn(`/ip4/11.77.0.12/tcp/4001/p2p/${ID}`, 'closing')], never)?.path).toBe('relayed')
    expect(bestRoute([], never)).toBeUndefined()
  })
})
