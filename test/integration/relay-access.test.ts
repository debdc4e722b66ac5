import { describe, it, expect } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ferryOk, status, waitFor } from '../helpers/ferry-process.ts'
import { relayStatus, useRelay, useRelayLabs } from '../helpers/relay-process.ts'
import { storedRelayBlocks } from '../helpers/relay-blocks.ts'

const settle = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('the relay takes data only from devices it trusts', () => {
  const env = useRelayLabs()

  it('a device the relay never trusted cannot connect, and nothing of its folder is stored', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    const mallory = await lab.device('mallory')
    await useRelay(a, r)
    // mallory trusts the relay and shares a folder with it as a replica; the relay never added mallory
    await ferryOk(['--home', mallory.home, 'device', 'add', r.id, '--addr', r.addr])
    await ferryOk(['--home', mallory.home, 'share', 'docs', r.id, '--replica'])
    await writeFile(join(mallory.folder, 'spam.txt'), 'store me for free')
    await writeFile(join(a.folder, 'mine.txt'), 'a trusted file')
    await Promise.all([lab.start(a), lab.start(mallory)])
    await waitFor('a uploaded', async () => (await status(a)).folders[0]!.replicaInSync === true, 60_000)
    await settle(4_000) // more than one dial round of mallory's
    const sm = await status(mallory)
    expect(sm.peers.every(p => !p.connected)).toBe(true)
    expect(sm.folders[0]!.replicaInSync).toBe(false)
    const sr = await relayStatus(r)
    expect(sr.peers.map(p => p.id)).not.toContain(mallory.id)
    expect(sr.folders.map(f => f.members)).toEqual([[a.id]])
    expect(Object.keys(sr.folders[0]!.devices)).toEqual([a.id])
    expect(r.log).not.toContain(mallory.id)
    // exactly a's one block is stored (sealed), with its record's sealed payload
    expect(sr.receivedBlocks).toBe(2)
  })

  it('a trust added while the relay runs takes effect without a restart', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    await ferryOk(['--home', a.home, 'device', 'add', r.id, '--addr', r.addr])
    await ferryOk(['--home', a.home, 'share', 'docs', r.id, '--replica'])
    await writeFile(join(a.folder, 'late.txt'), 'trusted later')
    await lab.start(a)
    await settle(3_500)
    expect((await status(a)).folders[0]!.replicaInSync).toBe(false)
    expect((await relayStatus(r)).folders).toEqual([])
    await ferryOk(['--home', r.home, 'device', 'add', a.id])
    await waitFor('a uploaded', async () => (await status(a)).folders[0]!.replicaInSync === true, 30_000)
    // the file's one block and its record's payload, both sealed
    expect((await storedRelayBlocks(r.home)).length).toBe(2)
  })
})
