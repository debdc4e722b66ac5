import { describe, it, expect, afterEach } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import { createNode, type FerryNode } from '../../src/node/create-node.ts'
import { dialDirect, onlyRelayed } from '../../src/replica/relayed-dial.ts'
import { waitFor } from '../helpers/ferry-process.ts'

/**
 * A peer first reached through the relay (its direct dial ran before the private DHT knew where
 * it is: seen on a loaded machine) is dialed directly again: libp2p nodes as ferry makes them, a
 * relay between two devices, the relayed connection made by hand. (In a daemon its dial loop
 * calls dialDirect for such a peer: relay-circuit.test.ts sees the result.)
 */
describe('a peer reached only through a relay', () => {
  const nodes: FerryNode[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  const node = async (opts: { relayServer?: boolean, circuitListen?: boolean }): Promise<FerryNode> => {
    const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], isTrusted: () => true, mdns: false, ...opts })
    nodes.push(n)
    return n
  }

  it('is dialed directly, and the relayed connection is closed: new streams can only take the direct one', async () => {
    const relay = await node({ relayServer: true })
    const a = await node({ circuitListen: true })
    const b = await node({ circuitListen: true })
    const relayAddr = relay.getMultiaddrs()[0]!
    await a.dial(relayAddr)
    await b.dial(relayAddr)
    await waitFor('b holds a reservation on the relay', () => b.getMultiaddrs().some(m => m.toString().includes('/p2p-circuit')), 30_000)
    await a.dial(multiaddr(`${relayAddr.toString()}/p2p-circuit/p2p/${b.peerId.toString()}`))
    // the DHT of either may have connected them directly on its own meanwhile: those go
    await Promise.all(a.getConnections(b.peerId).filter(c => !c.remoteAddr.toString().includes('/p2p-circuit')).map(async c => { await c.close() }))
    expect(a.getConnections(b.peerId).some(c => c.status === 'open' && c.remoteAddr.toString().includes('/p2p-circuit'))).toBe(true)
    // identify over the relayed connection tells a where b listens (else the DHT is asked)
    await waitFor('a knows where b listens', async () => (await a.peerStore.get(b.peerId).catch(() => undefined))?.addresses.some(x => !x.multiaddr.toString().includes('/p2p-circuit')) === true, 30_000)

    expect(await dialDirect(a, b.peerId.toString(), [], logger('test:direct'))).toBe(true)
    expect(onlyRelayed(a, b.peerId.toString())).toBe(false)
    expect(a.getConnections(b.peerId).filter(c => c.status === 'open' && c.remoteAddr.toString().includes('/p2p-circuit'))).toEqual([])
    const direct = a.getConnections(b.peerId).filter(c => c.status === 'open' && !c.remoteAddr.toString().includes('/p2p-circuit'))
    expect(direct.map(c => c.remoteAddr.toString())).toContain(`${b.getMultiaddrs().find(m => !m.toString().includes('/p2p-circuit'))!.toString()}`)
  })
})
