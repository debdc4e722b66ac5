import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { Daemon } from '../../src/daemon/daemon.ts'
import { NodeEvents } from '../../src/events/node-events.ts'
import { eventLines } from '../../src/cli/event-lines.ts'

/** Things to undo after a test, last first. */
export type Cleanups = Array<() => Promise<void>>

/** A real daemon in this process (loopback, no mDNS) whose log lines are collected. */
export async function startLocalDaemon (home: string, cleanups: Cleanups): Promise<{ daemon: Daemon, lines: string[] }> {
  const lines: string[] = []
  const events = new NodeEvents()
  events.subscribe(e => { lines.push(...eventLines(e)) })
  const daemon = await Daemon.open({ home, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, events })
  await daemon.start()
  cleanups.push(async () => { await daemon.stop() })
  return { daemon, lines }
}

/** A bare libp2p node with `key` (TCP, Noise, Yamux, identify) for driving protocols by hand. */
export async function startRogueNode (key: PrivateKey, cleanups: Cleanups): Promise<Libp2p> {
  const rogue = await createLibp2p({
    privateKey: key,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  cleanups.push(async () => { await rogue.stop() })
  return rogue
}
