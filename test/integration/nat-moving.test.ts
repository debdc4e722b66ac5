import { describe, it, expect } from 'vitest'
import { join } from 'node:path'
import { status, waitConverged, waitFor, writeRandomFile } from '../helpers/ferry-process.ts'
import { natLabUnavailable } from '../helpers/nat-lab.ts'
import { MIB, publicRelay, scenarioLine, twoDevicesInHomes, useNatBed, waitPath } from '../helpers/nat-scenario.ts'

const unavailable = natLabUnavailable()
if (unavailable !== undefined) console.warn(`nat-moving: skipped: ${unavailable}`)

/**
 * big enough that the move lands in the middle of it behind the slow uplink; FERRY_MOVING_MIB
 * runs it with another size (256 for the figure in docs/PERFORMANCE.md; too long for npm test)
 */
const FILE_MIB = Number(process.env.FERRY_MOVING_MIB ?? 32)
/** home 2's downlink: whatever b fetches (from a, or from the relay's replica) comes through it */
const DOWNLINK_MBIT = 24
/** the move happens once b holds this share of the file */
const MOVE_AT = 0.25

describe.skipIf(unavailable !== undefined)('a device that moves from one home to another', () => {
  const env = useNatBed([{}, { downlinkMbit: DOWNLINK_MBIT }])

  it('a file being received when the device moves completes without starting over, and the new LAN path wins', async () => {
    const r = await publicRelay(env)
    const [home1, home2] = env.net.homes
    const [a, b] = await twoDevicesInHomes(env, r, [home1!, home2!], ['a', 'b'])
    // any path before the move (the punched scenario is about punching: nat-scenarios.test.ts)
    const before = await waitPath(a, b, ['punched', 'direct', 'relayed'], 150_000)
    const size = FILE_MIB * MIB
    const started = Date.now()
    await writeRandomFile(join(a.folder, 'moving.bin'), FILE_MIB)
    const received = async (): Promise<number> => Object.values((await status(b)).receivedBytes).reduce((x, y) => x + y, 0)
    await waitFor('b\'s first block', async () => await received() > 0, 120_000)
    const firstBlock = Date.now()
    await waitFor(`b holding ${MOVE_AT * 100}% of the file`, async () => await received() >= size * MOVE_AT, 180_000)
    const atMove = await received()
    // b's old address goes away (every connection of it with it), a new one comes: on a's LAN
    const ip = env.net.move(home2!.netns, home1!)
    const moved = Date.now()
    await waitConverged([a, b], 240_000)
    const done = Date.now()
    const after = env.net.linkBytes(home2!.netns).rx
    const path = await waitPath(a, b, ['lan'], 120_000)
    console.log(scenarioLine({ name: 'moving', path: `${before} -> ${path}`, firstBlockMs: firstBlock - started, bytes: size, transferMs: done - firstBlock, relayBytes: env.net.relayBytes(home2!).tx, extra: `blocks from ${JSON.stringify(Object.fromEntries(Object.entries((await status(b)).receivedBytes).map(([k, v]) => [k === a.id ? 'a' : 'relay', `${(v / MIB).toFixed(1)} MiB`])))}; moved to ${ip} at ${(atMove / MIB).toFixed(1)} MiB; ${(after / MIB).toFixed(1)} MiB reached b after the move; done ${done - moved} ms after it` }))
    // the part held at the move was kept: what came after is less than the whole file
    expect(after).toBeLessThan(size)
  })
})
