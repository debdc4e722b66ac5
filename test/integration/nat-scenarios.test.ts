import { describe, it, expect } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { status, waitConverged, writeRandomFile } from '../helpers/ferry-process.ts'
import { relayStatus } from '../helpers/relay-process.ts'
import { natLabUnavailable } from '../helpers/nat-lab.ts'
import { DEFAULT_MAX_STREAM_WINDOW_BYTES } from '../../src/node/create-node.ts'
import { MIB, firstBlockAt, pathTo, routeTo, publicRelay, scenarioLine, twoDevicesInHomes, useNatBed, waitPath } from '../helpers/nat-scenario.ts'

const unavailable = natLabUnavailable()
if (unavailable !== undefined) console.warn(`nat-scenarios: skipped: ${unavailable}`)

/** the folder of the punched scenario (the size the design asks for) */
const PUNCHED_FILE_MIB = 64
/**
 * the strict-NAT scenario: relayed at RELAY_RATE, so its size sets its duration. What passes at
 * once is the bucket (a second's worth) and what the sender had sent before the relay paused its
 * stream (one stream window): the file is several times that, so that the rate shows.
 */
const RELAYED_FILE_MIB = 16
const RELAY_RATE = '2MiB'
const RELAY_RATE_BYTES = 2 * MIB

/**
 * Homes 1 and 2 behind NATs that keep ports (a hole punch works), home 3 behind a strict one
 * (random ports, nothing unsolicited gets in: only the relay works). Every device knows only the
 * relay's public address.
 */
describe.skipIf(unavailable !== undefined)('across the internet: two NATed homes and a strict one', () => {
  const env = useNatBed([{}, {}, { strict: true }])

  it('two NATed homes sync over a punched path, most bytes not through the relay; with the relay stopped, sync goes on', async () => {
    const r = await publicRelay(env)
    const [home1, home2] = env.net.homes as [typeof env.net.homes[0], typeof env.net.homes[0]]
    const [a, b] = await twoDevicesInHomes(env, r, [home1!, home2!], ['a', 'b'])
    const path = await waitPath(a, b, ['punched', 'direct'], 150_000)
    const relayBefore = env.net.relayBytes(home2!).tx
    const file = join(a.folder, 'big.bin')
    const started = Date.now()
    await writeRandomFile(file, PUNCHED_FILE_MIB)
    const firstBlock = await firstBlockAt(b, a, 120_000)
    await waitConverged([a, b], 240_000)
    const done = Date.now()
    // what the relay sent into home 2: relayed data and blocks b took from the relay's replica
    const relayToB = env.net.relayBytes(home2!).tx - relayBefore
    const got = (await status(b)).receivedBytes
    const fromA = got[a.id] ?? 0
    console.log(scenarioLine({ name: 'punched', path, firstBlockMs: firstBlock - started, bytes: PUNCHED_FILE_MIB * MIB, transferMs: done - firstBlock, relayBytes: relayToB, extra: `b got ${(fromA / MIB).toFixed(1)} MiB of blocks from a, ${((got[r.id] ?? 0) / MIB).toFixed(1)} MiB from the relay's replica; b reaches a: ${await routeTo(b, a)}; a sent the relay ${(env.net.relayBytes(home1!).rx / MIB).toFixed(1)} MiB (its replica)` }))
    expect(relayToB).toBeLessThan(PUNCHED_FILE_MIB * MIB / 2)
    expect(await pathTo(b, a)).toBe(path)

    // the relay goes: the punched connection carries on alone
    await env.relays.stop(r)
    await writeFile(join(a.folder, 'after-relay.txt'), 'no relay needed')
    const tree = await waitConverged([a, b], 120_000)
    expect(tree.has('after-relay.txt')).toBe(true)
    expect(await pathTo(a, b)).toBe(path)
    console.log(`nat-scenario relay-stopped: path ${path}; synced a new file with the relay gone`)
  })

  it('the strict-NAT home syncs through the relay, relayed, within the relay\'s limits', async () => {
    const r = await publicRelay(env, ['--relay-rate', RELAY_RATE, '--relay-daily', '1GiB'])
    const [home1, , home3] = env.net.homes
    const [a, c] = await twoDevicesInHomes(env, r, [home1!, home3!], ['a2', 'c'], 'strict')
    await waitPath(a, c, ['relayed'], 150_000)
    const relayBefore = env.net.relayBytes(home3!).tx
    const started = Date.now()
    await writeRandomFile(join(a.folder, 'relayed.bin'), RELAYED_FILE_MIB)
    const firstBlock = await firstBlockAt(c, a, 120_000)
    await waitConverged([a, c], 240_000)
    const done = Date.now()
    const relayToC = env.net.relayBytes(home3!).tx - relayBefore
    const path = await pathTo(c, a)
    const relayed = (await relayStatus(r)).peers.find(p => p.id === a.id)?.relayedToday ?? 0
    console.log(scenarioLine({ name: 'strict', path: path ?? 'none', firstBlockMs: firstBlock - started, bytes: RELAYED_FILE_MIB * MIB, transferMs: done - firstBlock, relayBytes: relayToC, extra: `${await routeTo(c, a)}; the relay counted ${(relayed / MIB).toFixed(1)} MiB relayed for the sender` }))
    // no punch through a NAT with random ports: the relay carried it all, and stayed in its limit
    expect(path).toBe('relayed')
    expect(relayToC).toBeGreaterThan(RELAYED_FILE_MIB * MIB)
    expect((await relayStatus(r)).peers.every(p => !p.relayLimited)).toBe(true)
    // the rate limit held: the rest after a burst and a window took at least most of its time at
    // the rate (unpaced, the 16 MiB crossed in about a second here)
    const floorS = (RELAYED_FILE_MIB * MIB - RELAY_RATE_BYTES - DEFAULT_MAX_STREAM_WINDOW_BYTES) / RELAY_RATE_BYTES
    expect((done - started) / 1000).toBeGreaterThan(floorS * 0.7)
  })
})
