import { describe, it, expect, afterEach } from 'vitest'
import { createSocket, type Socket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { parseStunListen, stunAnswer, StunServer, STUN_MAGIC_COOKIE } from '../../relay/stun-server.ts'

/** a Binding Request (RFC 5389): type 0x0001, no attributes, the magic cookie, a transaction id */
function bindingRequest (txid: Uint8Array = randomBytes(12)): Uint8Array {
  const b = new Uint8Array(20)
  const v = new DataView(b.buffer)
  v.setUint16(0, 0x0001)
  v.setUint16(2, 0)
  v.setUint32(4, STUN_MAGIC_COOKIE)
  b.set(txid, 8)
  return b
}

/** decodes a Binding Success response's XOR-MAPPED-ADDRESS, written independently of the server */
function mappedAddress (res: Uint8Array): { txid: string, family: number, address: string, port: number } {
  const v = new DataView(res.buffer, res.byteOffset, res.byteLength)
  expect(v.getUint16(0)).toBe(0x0101)
  expect(v.getUint16(2)).toBe(res.byteLength - 20)
  expect(v.getUint32(4)).toBe(STUN_MAGIC_COOKIE)
  let at = 20
  while (at + 4 <= res.byteLength) {
    const type = v.getUint16(at)
    const len = v.getUint16(at + 2)
    if (type === 0x0020) {
      const family = v.getUint8(at + 5)
      const port = v.getUint16(at + 6) ^ 0x2112
      const mask = res.subarray(4, 20)
      const raw = res.subarray(at + 8, at + 4 + len).map((x, i) => x ^ mask[i]!)
      const address = family === 1
        ? [...raw].join('.')
        : Array.from({ length: 8 }, (_, i) => ((raw[2 * i]! << 8) | raw[2 * i + 1]!).toString(16)).join(':')
      return { txid: Buffer.from(res.subarray(8, 20)).toString('hex'), family, address, port }
    }
    at += 4 + len + ((4 - len % 4) % 4)
  }
  throw new Error('no XOR-MAPPED-ADDRESS')
}

describe('the relay\'s STUN responder', () => {
  const sockets: Socket[] = []
  let server: StunServer | undefined
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close()
    await server?.stop()
    server = undefined
  })

  async function client (type: 'udp4' | 'udp6', host: string): Promise<{ socket: Socket, port: number, next: () => Promise<Buffer> }> {
    const socket = createSocket(type)
    sockets.push(socket)
    await new Promise<void>(resolve => socket.bind(0, host, resolve))
    const queue: Buffer[] = []
    const waiting: Array<(b: Buffer) => void> = []
    socket.on('message', m => { const w = waiting.shift(); if (w !== undefined) w(m); else queue.push(m) })
    const next = async (): Promise<Buffer> => await new Promise<Buffer>((resolve, reject) => {
      const q = queue.shift()
      if (q !== undefined) { resolve(q); return }
      const t = setTimeout(() => { reject(new Error('no STUN answer within 10 s')) }, 10_000)
      waiting.push(b => { clearTimeout(t); resolve(b) })
    })
    return { socket, port: socket.address().port, next }
  }

  it('answers a binding request over real UDP with the sender\'s address and port, and ignores garbage', async () => {
    server = new StunServer({ host: '127.0.0.1', port: 0 })
    const at = await server.start()
    expect(at.port).toBeGreaterThan(0)
    const c = await client('udp4', '127.0.0.1')
    // garbage first: not answered (the only answer that comes is the request's)
    for (const junk of [Buffer.from('hello'), Buffer.alloc(20), randomBytes(100), Buffer.from(bindingRequest()).fill(0xff, 4, 8)]) c.socket.send(junk, at.port, '127.0.0.1')
    const txid = randomBytes(12)
    c.socket.send(bindingRequest(txid), at.port, '127.0.0.1')
    const m = mappedAddress(await c.next())
    expect(m).toEqual({ txid: txid.toString('hex'), family: 1, address: '127.0.0.1', port: c.port })
    expect(server.answered).toBe(1)
  })

  it('answers over IPv6 with an IPv6 mapped address', async () => {
    server = new StunServer({ host: '::1', port: 0 })
    let at
    try { at = await server.start() } catch (err) {
      console.log(`skipped: no IPv6 loopback here (${(err as Error).message})`)
      return
    }
    const c = await client('udp6', '::1')
    c.socket.send(bindingRequest(), at.port, '::1')
    const m = mappedAddress(await c.next())
    expect(m.family).toBe(2)
    expect(m.address).toBe('0:0:0:0:0:0:0:1')
    expect(m.port).toBe(c.port)
  })

  it('answers only well-formed binding requests', () => {
    const from = { address: '192.0.2.7', port: 4242 }
    expect(stunAnswer(bindingRequest(), from)).toBeDefined()
    const withAttr = new Uint8Array(28)
    withAttr.set(bindingRequest())
    new DataView(withAttr.buffer).setUint16(2, 8)
    expect(stunAnswer(withAttr, from)).toBeDefined()
    const badLength = bindingRequest(); new DataView(badLength.buffer).setUint16(2, 4)
    const response = bindingRequest(); new DataView(response.buffer).setUint16(0, 0x0101)
    const noCookie = bindingRequest(); new DataView(noCookie.buffer).setUint32(4, 0)
    for (const bad of [badLength, response, noCookie, bindingRequest().subarray(0, 19), new Uint8Array(2000)]) expect(stunAnswer(bad, from)).toBeUndefined()
    expect(stunAnswer(bindingRequest(), { address: 'not an ip', port: 1 })).toBeUndefined()
    expect(mappedAddress(stunAnswer(bindingRequest(), { address: '::ffff:192.0.2.7', port: 9 })!)).toMatchObject({ family: 1, address: '192.0.2.7', port: 9 })
  })

  it('stops answering beyond its rate', async () => {
    server = new StunServer({ host: '127.0.0.1', port: 0 }, { maxAnswersPerSecond: 3 })
    const at = await server.start()
    const c = await client('udp4', '127.0.0.1')
    for (let i = 0; i < 10; i++) c.socket.send(bindingRequest(), at.port, '127.0.0.1')
    for (let i = 0; i < 3; i++) await c.next()
    // the rest were dropped within the same second; a request in a later second is answered
    expect(server.answered).toBeLessThanOrEqual(3 * 2)
  })

  it('parses --stun-listen', () => {
    expect(parseStunListen('4001', '0.0.0.0')).toEqual({ host: '0.0.0.0', port: 4001 })
    expect(parseStunListen('10.0.0.1:3478', '0.0.0.0')).toEqual({ host: '10.0.0.1', port: 3478 })
    expect(parseStunListen('[::]:3478', '0.0.0.0')).toEqual({ host: '::', port: 3478 })
    for (const bad of ['', 'x', '70000', 'a:b', '1.2.3.4:']) expect(() => parseStunListen(bad, '0.0.0.0')).toThrow(/--stun-listen takes/)
  })
})
