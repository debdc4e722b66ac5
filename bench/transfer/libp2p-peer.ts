/**
 * One libp2p stream's throughput, one process per side (run by raw-refs.ts). TCP + Noise (or TLS:
 * @libp2p/tls, or ferry's socket TLS) + Yamux with default settings, 127.0.0.1 only, no discovery:
 *   node libp2p-peer.ts listen <noise|tls|socket-tls>      prints its multiaddr, counts what a stream sends, answers the count
 *   node libp2p-peer.ts dial <noise|tls|socket-tls> <multiaddr> <bytes> sends <bytes> in 1 MiB writes on one stream, the
 *                                                            write buffer bounded to 4 MiB (notes/libp2p-v3.md §3), prints JSON
 */
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { tls } from '@libp2p/tls'
import { yamux } from '@libp2p/yamux'
import { socketTls } from '../../src/node/socket-tls.ts'
import { byteStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { randomBytes } from 'node:crypto'
import type { Stream } from '@libp2p/interface'

const PROTO = '/ferry-bench/throughput/1.0.0'
const [mode, enc, ...rest] = process.argv.slice(2)
const CHUNK = 1024 * 1024
const MAX_BUFFERED = 4 * CHUNK

const node = await createLibp2p({
  addresses: { listen: mode === 'listen' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [enc === 'tls' ? tls() : enc === 'socket-tls' ? socketTls() : noise()],
  streamMuxers: [yamux()]
})
setTimeout(() => process.exit(2), 600_000).unref()

async function waitWritable (s: Stream): Promise<void> {
  while (s.writeBufferLength > MAX_BUFFERED) {
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => { s.removeEventListener('close', onClose); resolve() }
      const onClose = (e: Event): void => { s.removeEventListener('drain', onDrain); reject((e as Event & { error?: Error }).error ?? new Error('stream closed')) }
      s.addEventListener('drain', onDrain, { once: true })
      s.addEventListener('close', onClose, { once: true })
    })
  }
}

if (mode === 'listen') {
  await node.handle(PROTO, async (stream) => {
    let got = 0
    try {
      for await (const chunk of stream) got += chunk.byteLength
      const reply = Buffer.alloc(8)
      reply.writeBigUInt64BE(BigInt(got))
      stream.send(reply)
      await stream.close()
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  })
  process.stdout.write(`${node.getMultiaddrs()[0]!.toString()}\n`)
  process.on('SIGTERM', () => { void Promise.resolve(node.stop()).finally(() => process.exit(0)) })
} else if (mode === 'dial') {
  const [ma, bytesS] = rest
  const total = Number(bytesS)
  const buf = randomBytes(CHUNK)
  const tDial = performance.now()
  const s = await node.dialProtocol(multiaddr(ma!), PROTO, { signal: AbortSignal.timeout(30_000) })
  const reader = byteStream(s)
  const t0 = performance.now()
  let peakBuffered = 0
  for (let left = total; left > 0;) {
    const n = Math.min(left, CHUNK)
    left -= n
    if (!s.send(n === CHUNK ? buf : buf.subarray(0, n))) await waitWritable(s)
    peakBuffered = Math.max(peakBuffered, s.writeBufferLength)
  }
  await s.close()
  const reply = await reader.read({ bytes: 8 })
  const ms = performance.now() - t0
  const got = Number(Buffer.from(reply.subarray()).readBigUInt64BE(0))
  process.stdout.write(JSON.stringify({ ok: got === total, bytes: total, ms, dialMs: t0 - tDial, peakWriteBuffer: peakBuffered }) + '\n')
  await node.stop()
  process.exit(0)
} else {
  process.stderr.write('usage: libp2p-peer.ts listen <noise|tls> | dial <noise|tls> <multiaddr> <bytes>\n')
  process.exit(2)
}
