import { describe, it, expect } from 'vitest'
import { JoinWindows, DEFAULT_MAX_JOIN_WINDOW_MS } from '../../relay/join-windows.ts'
import { decodeJoinWindowMessage, encodeJoinWindowMessage } from '../../protocols/join-window/index.ts'
import { joinRoutes } from '../../src/commands/join-dial.ts'
import { InvalidMessageError } from '../../protocols/wire/errors.ts'

const A = '12D3KooWM2i3eGBeLDWMVg8rt8LeFKwqsQjbxFVegmpett94cxKm'
const R = '12D3KooWNw2TUUW6FxayLE2P8z2k3i1b9uik6CWxd1vKaGzeNaQp'

describe('a relay\'s join windows', () => {
  it('open until the time told (capped), closed by 0, a past time, expiry, or distrust', () => {
    const w = new JoinWindows()
    const now = 1_000_000
    expect(w.anyOpen(now)).toBe(false)
    expect(w.open(A, now + 5_000, now)).toBe(now + 5_000)
    expect(w.isOpen(A, now + 4_999)).toBe(true)
    expect(w.anyOpen(now + 4_999)).toBe(true)
    expect(w.isOpen(A, now + 5_000)).toBe(false)
    expect(w.anyOpen(now + 5_000)).toBe(false)
    expect(w.open(A, Number.MAX_SAFE_INTEGER, now)).toBe(now + DEFAULT_MAX_JOIN_WINDOW_MS)
    expect(w.open(A, 0, now)).toBe(0)
    expect(w.isOpen(A, now)).toBe(false)
    w.open(A, now + 5_000, now)
    w.retain(id => id !== A)
    expect(w.anyOpen(now)).toBe(false)
  })
})

describe('/ferry/join-window/1 messages', () => {
  it('round-trip, and anything else is refused as invalid', () => {
    for (const m of [{ type: 'open', untilMs: 0 }, { type: 'ok', untilMs: 1_700_000_000_000 }, { type: 'err', code: 'ERR_X', message: 'no' }] as const) {
      expect(decodeJoinWindowMessage(encodeJoinWindowMessage(m) as [string, ...unknown[]])).toEqual(m)
    }
    for (const bad of [['open'], ['open', -1], ['open', 1.5], ['open', '5'], ['ok', 1, 2], ['close', 1], ['err', '', 'x']]) {
      expect(() => decodeJoinWindowMessage(bad as [string, ...unknown[]])).toThrow(InvalidMessageError)
    }
  })
})

describe('where a joiner looks for the inviter', () => {
  it('direct addresses, then the code\'s circuits and its relay; WebRTC addresses skipped', () => {
    const routes = joinRoutes({
      folder: 'docs',
      device: A,
      addrs: ['/ip4/10.1.0.2/tcp/4001', `/ip4/11.77.0.1/tcp/4001/p2p/${R}/p2p-circuit`, `/ip4/11.77.0.1/tcp/4001/p2p/${R}/p2p-circuit/webrtc`],
      relay: `/ip4/11.77.0.1/tcp/4001/p2p/${R}`,
      secret: new Uint8Array(32)
    })
    expect(routes.direct.map(String)).toEqual([`/ip4/10.1.0.2/tcp/4001/p2p/${A}`])
    expect(routes.relayed.map(String)).toEqual([`/ip4/11.77.0.1/tcp/4001/p2p/${R}/p2p-circuit/p2p/${A}`])
    expect(routes.relays).toEqual([R])
    // a relay field without its id names no circuit
    expect(joinRoutes({ folder: 'docs', device: A, addrs: [], relay: '/ip4/11.77.0.1/tcp/4001', secret: new Uint8Array(32) }).relayed).toEqual([])
  })
})
