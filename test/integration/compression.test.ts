import { describe, it, expect, afterEach } from 'vitest'
import { open } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { Lab, ferryOk, freePort, status, waitConverged, waitFor } from '../helpers/ferry-process.ts'
import { csvText } from '../helpers/compressible-data.ts'
import { socketBytes } from '../../bench/socket-bytes.ts'

const MiB = 1024 * 1024
const SIZE_MIB = 32

/**
 * A loopback TCP relay in front of `port` that counts the bytes flowing back to whoever
 * connects: what the server really put on the socket, encryption and framing included.
 */
async function countingProxy (port: number): Promise<{ port: number, downstreamBytes: () => number, close: () => Promise<void> }> {
  let down = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer(client => {
    const upstream = connect(port, '127.0.0.1')
    sockets.add(client).add(upstream)
    upstream.on('data', (chunk: Buffer) => { down += chunk.byteLength })
    client.pipe(upstream)
    upstream.pipe(client)
    const end = (): void => { client.destroy(); upstream.destroy() }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  const listenPort = await freePort()
  await new Promise<void>(resolve => server.listen(listenPort, '127.0.0.1', resolve))
  return {
    port: listenPort,
    downstreamBytes: () => down,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

describe('blocks are compressed on the wire', () => {
  let lab: Lab
  let closeProxy = async (): Promise<void> => {}
  afterEach(async () => {
    await lab.cleanup()
    await closeProxy()
  })

  it('a 32 MiB CSV crosses with far fewer socket bytes than its size, and arrives identical', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    // b reaches a only through the counting proxy; a has no working address for b, so the one
    // connection between them is b's, through the proxy
    const proxy = await countingProxy(a.port)
    closeProxy = proxy.close
    const nowhere = await freePort()
    await ferryOk(['--home', a.home, 'device', 'add', b.id, '--addr', `/ip4/127.0.0.1/tcp/${nowhere}`, '--name', 'b'])
    await ferryOk(['--home', b.home, 'device', 'add', a.id, '--addr', `/ip4/127.0.0.1/tcp/${proxy.port}`, '--name', 'a'])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await ferryOk(['--home', b.home, 'share', 'docs', a.id])

    // every MiB from its own seed: rows never repeat, so chunking finds nothing to dedup
    const fh = await open(join(a.folder, 'readings.csv'), 'w')
    for (let i = 0; i < SIZE_MIB; i++) await fh.write(csvText(MiB, 1000 + i))
    await fh.close()

    await lab.start(a)
    await waitFor('a has scanned', async () => (await status(a)).folders[0]!.localBytes === SIZE_MIB * MiB, 60_000)
    await lab.start(b)
    const tree = await waitConverged([a, b], 180_000)
    expect(tree.size).toBe(1)

    // the only connection is the proxied one
    const peers = (await status(b)).peers
    expect(peers.map(p => p.addrs)).toEqual([[`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${a.id}`]])
    // ferry delivered every block byte (uncompressed, after the hash check) ...
    const delivered = Object.values((await status(b)).receivedBytes).reduce((x, y) => x + y, 0)
    expect(delivered).toBeGreaterThanOrEqual(SIZE_MIB * MiB)
    // ... while the socket carried less than half of it (zstd-1 makes this CSV about a third)
    const onSocket = proxy.downstreamBytes()
    expect(onSocket).toBeGreaterThan(SIZE_MIB * MiB * 0.2)
    expect(onSocket).toBeLessThan(SIZE_MIB * MiB * 0.5)
    // the kernel agrees, where `ss` is available
    const kernel = socketBytes(b.process!.pid!).received
    if (!Number.isNaN(kernel)) {
      expect(kernel).toBeGreaterThanOrEqual(onSocket)
      expect(kernel).toBeLessThan(SIZE_MIB * MiB * 0.5)
    }
    console.log(`32 MiB CSV: ${(onSocket / MiB).toFixed(1)} MiB through the proxy, ${Number.isNaN(kernel) ? 'ss unavailable' : `${(kernel / MiB).toFixed(1)} MiB received per ss`}, ${(delivered / MiB).toFixed(1)} MiB of blocks delivered`)
  })
})
