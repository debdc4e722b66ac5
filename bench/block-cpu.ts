/**
 * CPU per GiB of the per-byte work one side of a transfer does, each part alone (not part of
 * npm test):   node bench/block-cpu.ts [--mib 256]
 * The block hash (sha2-256 against blake3, both sides pay it), content-defined chunking (the
 * sender's scan), the compression quick check per block (the sender, for a client that offers
 * codecs), and TLS 1.3 over a loopback socket pair (both sides: encrypt+send, receive+decrypt,
 * summed). Figures are process.cpuUsage (user + system, all threads of this process), best of
 * a few rounds, so a loaded machine shows in wall time but less in these numbers.
 */
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, connect as tcpConnect } from 'node:net'
import { TLSSocket, connect as tlsConnect } from 'node:tls'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { generateCertificate } from '@libp2p/tls/utils'
import { blockDigest } from '../src/hashing/block-cid.ts'
import { chunkLengths } from '../src/chunker/fastcdc.ts'
import { DEFAULT_CHUNKER_PARAMS } from '../src/chunker/constants.ts'
import { sampleShrinks } from '../protocols/blocks/compression.ts'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const ROUNDS = 3
const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' } } })
const totalBytes = Number(values.mib) * MiB
const data = randomBytes(totalBytes)
const blocks = [...chunkLengths(data, DEFAULT_CHUNKER_PARAMS)].reduce<Uint8Array[]>((list, n) => {
  const at = list.reduce((s, b) => s + b.byteLength, 0)
  list.push(data.subarray(at, at + n))
  return list
}, [])

async function cpu (fn: () => unknown): Promise<number> {
  await fn()
  let best = Infinity
  for (let i = 0; i < ROUNDS; i++) {
    const before = process.cpuUsage()
    await fn()
    const d = process.cpuUsage(before)
    best = Math.min(best, d.user + d.system)
  }
  return best / 1e6 * GiB / totalBytes
}

/** TLS 1.3 over loopback TCP, both ends in this process: all of `data` one way */
async function tlsOnce (): Promise<void> {
  const { key, cert } = await selfSigned()
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  const accepted = once(server, 'connection')
  const rawClient = tcpConnect(port, '127.0.0.1')
  const [rawServer] = await accepted as [import('node:net').Socket]
  const srv = new TLSSocket(rawServer, { isServer: true, key, cert, minVersion: 'TLSv1.3' })
  const cli = tlsConnect({ socket: rawClient, rejectUnauthorized: false, minVersion: 'TLSv1.3' })
  let got = 0
  const done = new Promise<void>(resolve => srv.on('data', (b: Buffer) => { got += b.byteLength; if (got >= totalBytes) resolve() }))
  await once(cli, 'secureConnect')
  for (let at = 0; at < totalBytes; at += MiB) {
    if (!cli.write(data.subarray(at, at + MiB))) await once(cli, 'drain')
  }
  await done
  cli.destroy(); srv.destroy(); server.close()
}

let pem: { key: string, cert: string } | undefined
/** a libp2p TLS certificate (what ferry's TLS uses), made once */
async function selfSigned (): Promise<{ key: string, cert: string }> {
  pem ??= await generateCertificate(await generateKeyPair('Ed25519'))
  return pem
}

const row = (what: string, s: number): void => { console.log(`${what.padEnd(58)} ${s.toFixed(2)} CPU-s per GiB`) }
console.log(`${values.mib} MiB of random data, ${blocks.length} blocks`)
row('block hash sha2-256 (OpenSSL), per side', await cpu(() => { for (const b of blocks) createHash('sha256').update(b).digest() }))
row('block hash blake3 (@napi-rs/blake-hash), per side', await cpu(() => { for (const b of blocks) blockDigest('blake3', b) }))
row('FastCDC cut points (sender scan)', await cpu(() => { for (const _ of chunkLengths(data, DEFAULT_CHUNKER_PARAMS)); }))
row('compression quick check, 8 KiB zstd-1 sample per block (sender)', await cpu(() => { for (const b of blocks) sampleShrinks(b) }))
row('TLS 1.3 over loopback TCP, both ends (sender + receiver)', await cpu(tlsOnce))
