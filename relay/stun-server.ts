import { createSocket, type Socket } from 'node:dgram'
import { isIPv4, isIPv6 } from 'node:net'
import { FerryError } from '../src/errors.ts'

/** RFC 5389 */
export const STUN_MAGIC_COOKIE = 0x2112A442
export const STUN_HEADER_BYTES = 20
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const XOR_MAPPED_ADDRESS = 0x0020
/** a binding request carries a few attributes at most: larger datagrams are not answered */
export const DEFAULT_MAX_STUN_REQUEST_BYTES = 548
/** answers per second, all senders together: beyond, requests are dropped */
export const DEFAULT_MAX_STUN_ANSWERS_PER_SECOND = 2_000

export interface StunSender { address: string, port: number }
export interface StunListen { host: string, port: number }

/**
 * The answer to one datagram: a Binding Success response with the sender's address in an
 * XOR-MAPPED-ADDRESS attribute, or undefined (not a well-formed binding request: ignored).
 * Never throws.
 */
export function stunAnswer (request: Uint8Array, from: StunSender, maxRequestBytes = DEFAULT_MAX_STUN_REQUEST_BYTES): Uint8Array | undefined {
  if (request.byteLength < STUN_HEADER_BYTES || request.byteLength > maxRequestBytes) return undefined
  const view = new DataView(request.buffer, request.byteOffset, request.byteLength)
  if (view.getUint16(0) !== BINDING_REQUEST) return undefined
  const length = view.getUint16(2)
  if (length % 4 !== 0 || length !== request.byteLength - STUN_HEADER_BYTES) return undefined
  if (view.getUint32(4) !== STUN_MAGIC_COOKIE) return undefined
  if (!Number.isInteger(from.port) || from.port < 0 || from.port > 65535) return undefined
  const address = from.address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')
  const xaddr = isIPv4(address) ? ipv4Bytes(address) : isIPv6(address) ? ipv6Bytes(address) : undefined
  if (xaddr === undefined) return undefined
  // X-Address: the address XOR the magic cookie (IPv4) or the cookie and transaction id (IPv6)
  const mask = request.subarray(4, STUN_HEADER_BYTES)
  for (let i = 0; i < xaddr.length; i++) xaddr[i]! ^= mask[i]!
  const attrBytes = 4 + xaddr.length
  const out = new Uint8Array(STUN_HEADER_BYTES + 4 + attrBytes)
  const w = new DataView(out.buffer)
  w.setUint16(0, BINDING_SUCCESS)
  w.setUint16(2, 4 + attrBytes)
  out.set(request.subarray(4, STUN_HEADER_BYTES), 4)
  w.setUint16(20, XOR_MAPPED_ADDRESS)
  w.setUint16(22, attrBytes)
  w.setUint8(25, xaddr.length === 4 ? 0x01 : 0x02)
  w.setUint16(26, from.port ^ (STUN_MAGIC_COOKIE >>> 16))
  out.set(xaddr, 28)
  return out
}

function ipv4Bytes (a: string): Uint8Array {
  return Uint8Array.from(a.split('.').map(Number))
}

function ipv6Bytes (a: string): Uint8Array | undefined {
  const addr = a.split('%')[0]!
  const [head = '', tail] = addr.split('::') as [string, string | undefined]
  const groups = (s: string): string[] => s === '' ? [] : s.split(':')
  const expand = (gs: string[]): number[] => gs.flatMap(g => isIPv4(g) ? [...ipv4Bytes(g)].reduce<number[]>((acc, b, i) => { if (i % 2 === 0) acc.push(b << 8); else acc[acc.length - 1]! |= b; return acc }, []) : [parseInt(g, 16)])
  const h = expand(groups(head))
  const t = tail === undefined ? [] : expand(groups(tail))
  const words = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  if (words.length !== 8 || words.some(x => !Number.isInteger(x) || x < 0 || x > 0xffff)) return undefined
  const out = new Uint8Array(16)
  words.forEach((x, i) => { out[2 * i] = x >> 8; out[2 * i + 1] = x & 0xff })
  return out
}

/** `[HOST:]PORT` (an IPv6 host in brackets); without a host, `defaultHost` */
export function parseStunListen (v: string, defaultHost: string): StunListen {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+)?:)?(\d{1,5})$/.exec(v.trim())
  const port = m === null ? NaN : Number(m[2])
  if (m === null || port > 65535) throw new FerryError(`--stun-listen takes [HOST:]PORT, like 0.0.0.0:4001, not ${JSON.stringify(v)}`, 'ERR_FERRY_USAGE')
  return { host: (m[1] ?? defaultHost).replace(/^\[(.*)\]$/, '$1'), port }
}

/** A UDP socket that answers STUN binding requests (so devices learn their public address). */
export class StunServer {
  private socket?: Socket
  private readonly listen: StunListen
  private readonly maxAnswersPerSecond: number
  private windowStart = 0
  private windowAnswers = 0
  /** binding requests answered since start */
  answered = 0

  constructor (listen: StunListen, opts: { maxAnswersPerSecond?: number } = {}) {
    this.listen = listen
    this.maxAnswersPerSecond = opts.maxAnswersPerSecond ?? DEFAULT_MAX_STUN_ANSWERS_PER_SECOND
  }

  /** Binds; resolves with where it listens (the port chosen if 0 was asked). */
  async start (): Promise<StunListen> {
    const socket = createSocket({ type: isIPv6(this.listen.host) ? 'udp6' : 'udp4' })
    this.socket = socket
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(this.listen.port, this.listen.host, () => { socket.off('error', reject); resolve() })
    }).catch(err => {
      socket.close()
      throw new FerryError(`cannot listen for STUN on udp ${this.listen.host}:${this.listen.port}: ${(err as Error).message}`, 'ERR_FERRY_STUN_LISTEN')
    })
    // a failed send (unreachable sender) is no reason to stop answering others
    socket.on('error', () => {})
    socket.on('message', (msg, rinfo) => { this.onMessage(msg, rinfo) })
    return { host: this.listen.host, port: socket.address().port }
  }

  private onMessage (msg: Uint8Array, from: StunSender): void {
    const now = Date.now()
    if (now - this.windowStart >= 1_000) { this.windowStart = now; this.windowAnswers = 0 }
    if (this.windowAnswers >= this.maxAnswersPerSecond) return
    const answer = stunAnswer(msg, from)
    if (answer === undefined) return
    this.windowAnswers++
    this.answered++
    this.socket?.send(answer, from.port, from.address)
  }

  async stop (): Promise<void> {
    const socket = this.socket
    this.socket = undefined
    if (socket !== undefined) await new Promise<void>(resolve => { socket.close(() => { resolve() }) })
  }
}
