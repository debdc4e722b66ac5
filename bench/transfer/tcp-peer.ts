/**
 * Raw loopback TCP reference, one process per side (run by raw-refs.ts):
 *   node tcp-peer.ts sink <port> <bytes>     accepts one connection, reads everything, answers OK
 *   node tcp-peer.ts source <port> <bytes>   sends <bytes> in 1 MiB writes, waits for OK, prints JSON
 */
import { createConnection, createServer } from 'node:net'
import { randomBytes } from 'node:crypto'

const [mode, portS, bytesS] = process.argv.slice(2)
const port = Number(portS)
const total = Number(bytesS)
const CHUNK = 1024 * 1024

if (mode === 'sink') {
  const srv = createServer(sock => {
    srv.close()
    let got = 0
    sock.on('data', (d: Buffer) => { got += d.length })
    sock.on('end', () => { sock.end(got === total ? 'OK' : 'NO') })
  })
  srv.listen(port, '127.0.0.1', () => process.stdout.write('READY\n'))
  setTimeout(() => process.exit(2), 300_000).unref()
} else if (mode === 'source') {
  const buf = randomBytes(CHUNK)
  const sock = createConnection({ host: '127.0.0.1', port }, () => {
    const t0 = performance.now()
    let left = total
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK)
        left -= n
        if (!sock.write(n === CHUNK ? buf : buf.subarray(0, n))) { sock.once('drain', pump); return }
      }
      sock.end()
    }
    let ack = ''
    sock.on('data', (d: Buffer) => { ack += d.toString() })
    sock.on('close', () => {
      const ms = performance.now() - t0
      process.stdout.write(JSON.stringify({ ok: ack === 'OK', bytes: total, ms }) + '\n')
    })
    pump()
  })
  sock.on('error', err => { process.stderr.write(String(err) + '\n'); process.exit(1) })
} else {
  process.stderr.write('usage: tcp-peer.ts sink|source <port> <bytes>\n')
  process.exit(2)
}
