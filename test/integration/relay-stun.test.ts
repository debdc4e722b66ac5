import { describe, it, expect } from 'vitest'
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { ferry, ferryOk, freePort, waitFor } from '../helpers/ferry-process.ts'
import { relayStatus, useRelayLabs } from '../helpers/relay-process.ts'

/** sends one Binding Request to 127.0.0.1:`port`; resolves with the mapped port, or undefined after `timeoutMs` */
async function stunProbe (port: number, timeoutMs = 10_000): Promise<number | undefined> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  try {
    const req = Buffer.alloc(20)
    req.writeUInt16BE(0x0001, 0)
    req.writeUInt32BE(0x2112A442, 4)
    randomBytes(12).copy(req, 8)
    return await new Promise<number | undefined>(resolve => {
      const t = setTimeout(() => { resolve(undefined) }, timeoutMs)
      socket.on('message', m => {
        clearTimeout(t)
        // XOR-MAPPED-ADDRESS right after the header: type, length, 0, family, x-port
        resolve(m.readUInt16BE(0) === 0x0101 && m.readUInt16BE(20) === 0x0020 ? m.readUInt16BE(26) ^ 0x2112 : undefined)
      })
      socket.send(req, port, '127.0.0.1')
    })
  } finally { socket.close() }
}

describe('the relay answers STUN', () => {
  const env = useRelayLabs()

  it('on UDP at its TCP port number by default, shown in its status', async () => {
    const r = await env.relays.relay('relay')
    const s = await relayStatus(r)
    expect(s.stun?.address).toBe(`udp 127.0.0.1:${r.port}`)
    expect(r.log).toContain(`STUN on udp 127.0.0.1:${r.port}`)
    expect(await stunProbe(r.port)).toBeGreaterThan(0)
    expect((await relayStatus(r)).stun?.answered).toBe(1)
    const text = await ferryOk(['--home', r.home, 'status'])
    expect(text).toContain(`STUN on udp 127.0.0.1:${r.port}`)
    // the relayed-data limits, defaults unless given
    expect(s.relayLimits).toEqual({ rateBytesPerSecond: 8 * 1024 ** 2, dailyBytes: 10 * 1024 ** 3 })
    expect(text).toContain('relayed data per device: 8.0 MiB/s, 10.0 GiB a day')
    expect(text).toContain('1 requests answered')
  })

  it('takes --relay-rate and --relay-daily, and shows each device\'s relayed bytes against them', async () => {
    const r = await env.relays.relay('relay', { args: ['--relay-rate', '1MiB/s', '--relay-daily', '2GiB'] })
    await ferryOk(['--home', r.home, 'device', 'add', '12D3KooWGaSTcfHSkVV1GYYCYpFMhKpCNSd8fnGxoex66LbkQgYe', '--name', 'laptop'])
    await waitFor('the relay knows the laptop', async () => (await relayStatus(r)).peers.length === 1, 30_000)
    const s = await relayStatus(r)
    expect(s.relayLimits).toEqual({ rateBytesPerSecond: 1024 ** 2, dailyBytes: 2 * 1024 ** 3 })
    expect(s.peers[0]).toMatchObject({ name: 'laptop', relayedToday: 0, relayLimited: false })
    expect(await ferryOk(['--home', r.home, 'status'])).toMatch(/laptop 12D3KooW\S+ relayed 0 B of 2\.0 GiB today/)
    for (const bad of [['--relay-rate', 'fast'], ['--relay-daily', '0']]) {
      const res = await ferry(['--home', '/nonexistent-ferry-home', 'relay', ...bad])
      expect(res.code).toBe(2)
      expect(res.stderr).toContain(`${bad[0]!} takes a size`)
    }
  })

  it('at --stun-listen, or not at all with --no-stun', async () => {
    const port = await freePort()
    const r = await env.relays.relay('relay', { args: ['--stun-listen', `127.0.0.1:${port}`] })
    expect((await relayStatus(r)).stun?.address).toBe(`udp 127.0.0.1:${port}`)
    expect(await stunProbe(port)).toBeGreaterThan(0)
    const off = await env.relays.relay('quiet', { args: ['--no-stun'] })
    expect((await relayStatus(off)).stun).toBeUndefined()
    expect(await stunProbe(off.port, 1_500)).toBeUndefined()
  })

  it('refuses a bad --stun-listen with a one-line usage error', async () => {
    const bad = await ferry(['--home', '/nonexistent-ferry-home', 'relay', '--stun-listen', 'nope'])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toContain('--stun-listen takes [HOST:]PORT')
  })
})
