import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { defaultLogger } from '@libp2p/logger'
import { indexService, INDEX_PROTOCOLS } from '../../protocols/index/index.ts'
import { blocksService, BLOCKS_PROTOCOLS } from '../../protocols/blocks/index.ts'
import { historyService, HISTORY_PROTOCOLS, fetchHistory } from '../../protocols/history/index.ts'
import { joinService, JOIN_PROTOCOLS } from '../../protocols/join/index.ts'
import { replicaService, REPLICA_PROTOCOLS } from '../../protocols/replica/index.ts'
import { RemoteError } from '../../protocols/wire/errors.ts'
import { asPart, startAll, stopAll, type Startable } from '../../src/lifecycle/components.ts'

const nodes: Libp2p[] = []

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop()
})

async function node (): Promise<Libp2p> {
  const n = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
  nodes.push(n)
  return n
}

/** every protocol service, with components that refuse everyone */
function allServices (server: Libp2p): Startable[] {
  const base = { registrar: server, logger: defaultLogger() }
  return ([
    indexService()({ ...base, folders: { get: () => undefined } }),
    blocksService()({ ...base, blocks: { mayRead: () => false, readBlock: async () => undefined } }),
    historyService()({ ...base, history: { recordsOf: async () => undefined } }),
    joinService()({ ...base, invitations: { acceptJoin: async () => { throw new Error('no') }, joined: async () => {} }, isTrusted: () => true }),
    replicaService()({ ...base, replicas: { open: async () => undefined, hangUp: () => {} } })
  ]).map(service => asPart('protocol service', service))
}

const ALL_IDS = [...INDEX_PROTOCOLS, ...BLOCKS_PROTOCOLS, ...HISTORY_PROTOCOLS, ...JOIN_PROTOCOLS, ...REPLICA_PROTOCOLS]

describe('protocol services', () => {
  it('register their handlers on start and unregister them on stop', async () => {
    const server = await node()
    const client = await node()
    const services = allServices(server)
    await startAll(services)
    expect(server.getProtocols()).toEqual(expect.arrayContaining(ALL_IDS))

    // served while started: a non-member's question gets the not-member answer
    await client.dial(server.getMultiaddrs()[0]!)
    const asked = fetchHistory(await client.dialProtocol(server.peerId, HISTORY_PROTOCOLS[0]!), 'f', 'a.txt')
    await expect(asked).rejects.toBeInstanceOf(RemoteError)

    await stopAll(services)
    for (const id of ALL_IDS) expect(server.getProtocols()).not.toContain(id)
    // and a stream on any of them is refused in protocol negotiation
    for (const id of [...HISTORY_PROTOCOLS, ...BLOCKS_PROTOCOLS]) {
      await expect(client.dialProtocol(server.peerId, id)).rejects.toThrow()
    }
  })

  it('a service that fails to start leaves the ones started before it stopped', async () => {
    const server = await node()
    const [index, blocks] = allServices(server)
    const failing: Startable = { name: 'failing', start: async () => { throw new Error('boom') }, stop: async () => {} }
    await expect(startAll([index!, blocks!, failing])).rejects.toThrow('boom')
    for (const id of [...INDEX_PROTOCOLS, ...BLOCKS_PROTOCOLS]) expect(server.getProtocols()).not.toContain(id)
  })
})
