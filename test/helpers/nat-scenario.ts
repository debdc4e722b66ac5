import { afterAll, beforeAll } from 'vitest'
import type { ConnectionPath } from '../../src/node/connection-path.ts'
import { Lab, ferryOk, status, waitFor, type Device } from './ferry-process.ts'
import { RelayLab, useRelay, type Relay } from './relay-process.ts'
import { NatLab, RELAY_IP, type Home, type HomeOptions } from './nat-lab.ts'

export const MIB = 1024 * 1024

/**
 * One NAT lab, one device lab and one relay lab for a whole test file (set up before its first
 * test, everything killed and every namespace removed after its last one, failed or not).
 */
export function useNatBed (homes: HomeOptions[]): { net: NatLab, lab: Lab, relays: RelayLab } {
  const env = { net: new NatLab(), lab: new Lab(), relays: new RelayLab() }
  beforeAll(async () => {
    await env.net.setup(homes)
    await env.lab.setup()
    await env.relays.setup()
  }, 120_000)
  afterAll(async () => {
    await env.lab.cleanup().catch(() => {})
    await env.relays.cleanup().catch(() => {})
    env.net.cleanup()
  }, 120_000)
  return env
}

/** the relay, in the public namespace at its public address */
export async function publicRelay (env: { net: NatLab, relays: RelayLab }, args: string[] = []): Promise<Relay> {
  return await env.relays.relay(`relay-${Math.random().toString(36).slice(2, 6)}`, { netns: env.net.pub, ip: RELAY_IP, args })
}

/**
 * Two devices that trust each other and share `folder`, knowing no address of each other: only
 * the relay's (their folder's replica). Started in their homes, listening on every address.
 */
export async function twoDevicesInHomes (env: { lab: Lab }, r: Relay, homes: [Home, Home], names: [string, string], folder = 'docs'): Promise<[Device, Device]> {
  const a = await env.lab.device(names[0], folder)
  const b = await env.lab.device(names[1], folder)
  await ferryOk(['--home', a.home, 'device', 'add', b.id, '--name', b.name])
  await ferryOk(['--home', b.home, 'device', 'add', a.id, '--name', a.name])
  await ferryOk(['--home', a.home, 'share', folder, b.id])
  await ferryOk(['--home', b.home, 'share', folder, a.id])
  await useRelay(a, r, folder)
  await useRelay(b, r, folder)
  await Promise.all([
    env.lab.start(a, { netns: homes[0].netns, listen: '/ip4/0.0.0.0/tcp/0' }),
    env.lab.start(b, { netns: homes[1].netns, listen: '/ip4/0.0.0.0/tcp/0' })
  ])
  return [a, b]
}

export async function pathTo (from: Device, to: Device): Promise<ConnectionPath | undefined> {
  const peer = (await status(from)).peers.find(p => p.id === to.id)
  return peer?.connected === true ? peer.path : undefined
}

/** how `from` reaches `to` now: path (transport) and the open connections' addresses */
export async function routeTo (from: Device, to: Device): Promise<string> {
  const peer = (await status(from)).peers.find(p => p.id === to.id)
  return peer?.connected === true ? `${peer.path ?? '?'} (${peer.transport ?? '?'}) over ${peer.addrs.join(', ')}` : 'not connected'
}

/** waits until both see each other on one of `paths`; the error names what they saw, with their logs */
export async function waitPath (a: Device, b: Device, paths: ConnectionPath[], timeoutMs: number): Promise<ConnectionPath> {
  let seen: Array<ConnectionPath | undefined> = []
  await waitFor(`${a.name} and ${b.name} on ${paths.join(' or ')}`, async () => {
    seen = [await pathTo(a, b), await pathTo(b, a)]
    return seen.every(p => p !== undefined && paths.includes(p))
  }, timeoutMs).catch(async err => {
    const routes = `${a.name}: ${await routeTo(a, b).catch(() => '?')}; ${b.name}: ${await routeTo(b, a).catch(() => '?')}`
    throw new Error(`${(err as Error).message}; saw ${seen.join(' / ')}; ${routes}\n--- ${a.name}\n${a.log.slice(-6000)}\n--- ${b.name}\n${b.log.slice(-6000)}`)
  })
  return seen[0]!
}

/** resolves with the time (ms since the epoch) `to` first received a block from `from` after `since` bytes */
export async function firstBlockAt (to: Device, from: Device, timeoutMs: number, since = 0): Promise<number> {
  await waitFor(`${to.name}'s first block from ${from.name}`, async () => ((await status(to)).receivedBytes[from.id] ?? 0) > since, timeoutMs)
  return Date.now()
}

/** the one line a scenario prints */
export function scenarioLine (o: { name: string, path: string, firstBlockMs: number, bytes: number, transferMs: number, relayBytes: number, extra?: string }): string {
  const mibps = (o.bytes / MIB) / Math.max(o.transferMs / 1000, 0.001)
  return `nat-scenario ${o.name}: path ${o.path}; first block after ${o.firstBlockMs} ms; ${(o.bytes / MIB).toFixed(0)} MiB at ${mibps.toFixed(1)} MiB/s; ${(o.relayBytes / MIB).toFixed(2)} MiB crossed the relay${o.extra === undefined ? '' : `; ${o.extra}`}`
}
