import { describe, it, expect } from 'vitest'
import { join } from 'node:path'
import { ferry, status, waitFor, writeRandomFile } from '../helpers/ferry-process.ts'
import { relayStatus, useRelay, useRelayLabs } from '../helpers/relay-process.ts'

const MIB = 1024 * 1024
const SIZE_MIB = 128
/** blocks acknowledged by the relay just before the kill may be counted on one side only */
const SLACK_BYTES = 2 * MIB

/**
 * The relay holds the file sealed: every block padded (Padmé: at most ~12 % more) plus its AEAD
 * tag, and the record's payload; never less than the file, and never a second copy of it.
 */
function expectSealedSize (stored: number): void {
  expect(stored).toBeGreaterThan(SIZE_MIB * MIB)
  expect(stored).toBeLessThan(SIZE_MIB * MIB * 1.13)
}

/** Bytes of the blocks the relay holds (what it acknowledged: not blocks being written when it died) */
async function storedBytes (home: string): Promise<number> {
  const v = await ferry(['--home', home, 'relay', 'verify', '--json'])
  return (JSON.parse(v.stdout) as { blockBytes: number }).blockBytes
}

describe('uploads to the relay resume', () => {
  const env = useRelayLabs()

  it('after the relay is SIGKILLed mid-upload, only the blocks it lacks are sent, and its store verifies', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    await useRelay(a, r)
    await writeRandomFile(join(a.folder, 'big.bin'), SIZE_MIB)
    await lab.start(a)
    const t0 = Date.now()
    await waitFor('the relay holds a third of the file', async () => (await relayStatus(r)).receivedBlockBytes > SIZE_MIB * MIB / 3, 120_000)
    await relays.stop(r, 'SIGKILL')
    const kept = await storedBytes(r.home)
    expect(kept).toBeGreaterThan(SIZE_MIB * MIB / 3 - SLACK_BYTES)
    expect(kept).toBeLessThan(SIZE_MIB * MIB)
    expect((await status(a)).folders[0]!.replicaInSync).toBe(false)

    await relays.start(r)
    await waitFor('a uploaded everything', async () => (await status(a)).folders[0]!.replicaInSync === true, 120_000)
    const elapsedS = (Date.now() - t0) / 1000
    const after = (await relayStatus(r)).receivedBlockBytes
    const stored = await storedBytes(r.home)
    expectSealedSize(stored)
    // without resume the whole (sealed, so padded) file would be sent again. A block the relay
    // holds is never sent again: its folder reference is written before it shows under its name
    // (measured: 0 bytes more than it lacked; before, up to 4.3 MiB, the blocks being written)
    expect(after).toBeLessThanOrEqual(stored - kept + SLACK_BYTES)
    const verify = await ferry(['--home', r.home, 'relay', 'verify', '--json'])
    expect(verify.code).toBe(0)
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, damagedBlocks: [], damagedRecords: [], missingBlocks: 0, records: 1 })
    console.log(`relay resume: ${SIZE_MIB} MiB in ${elapsedS.toFixed(1)} s including the kill; ${(kept / MIB).toFixed(1)} MiB kept, ${(after / MIB).toFixed(1)} MiB sent after restart, ${((after - (stored - kept)) / MIB).toFixed(2)} MiB more than the relay lacked`)
  })
  it('after the device is SIGKILLed mid-upload, its restart sends only the blocks the relay lacks', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    await useRelay(a, r)
    await writeRandomFile(join(a.folder, 'big.bin'), SIZE_MIB)
    await lab.start(a)
    await waitFor('the relay holds a third of the file', async () => (await relayStatus(r)).receivedBlockBytes > SIZE_MIB * MIB / 3, 120_000)
    await lab.stop(a, 'SIGKILL')
    const kept = (await relayStatus(r)).receivedBlockBytes
    expect(kept).toBeLessThan(SIZE_MIB * MIB)
    await lab.start(a)
    await waitFor('a uploaded everything', async () => (await status(a)).folders[0]!.replicaInSync === true, 120_000)
    const sent = (await status(a)).folders[0]!.replicaSentBytes!
    expect(sent).toBeLessThanOrEqual(SIZE_MIB * MIB - kept + SLACK_BYTES)
    expect((await relayStatus(r)).receivedBlockBytes).toBeLessThanOrEqual(SIZE_MIB * MIB + SLACK_BYTES)
    expectSealedSize(await storedBytes(r.home))
  })
})
