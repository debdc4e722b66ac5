import { describe, it, expect } from 'vitest'
import { writeFile, rename, rm, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { status, treeOf, sameTree, waitFor, writeRandomFile, type Device } from '../helpers/ferry-process.ts'
import { type Relay, useRelay, useRelayLabs, waitUploaded } from '../helpers/relay-process.ts'

/** Waits until `d` alone (with the relay) holds exactly `expected`. */
async function waitTree (d: Device, expected: Map<string, string>): Promise<void> {
  let last = ''
  try {
    await waitFor(`${d.name} has the expected tree`, async () => {
      const f = (await status(d)).folders[0]!
      last = JSON.stringify(f)
      return f.inSync && sameTree(await treeOf(d.folder), expected)
    }, 90_000)
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${last}\n${[...await treeOf(d.folder)].join('\n')}\n--- log\n${d.log.slice(-3000)}`)
  }
}

describe('the relay is an offline mailbox', () => {
  const env = useRelayLabs()

  it('A and B, never online together, exchange creates, edits, deletes and renames through the relay alone', async () => {
    const { lab, relays } = env
    const r: Relay = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await useRelay(a, r)
    await useRelay(b, r)

    // A alone (with the relay): creates files, then deletes and renames some
    await mkdir(join(a.folder, 'dir/sub'), { recursive: true })
    await writeFile(join(a.folder, 'a.txt'), 'from a')
    await writeFile(join(a.folder, 'dir/sub/b.txt'), 'nested')
    await writeFile(join(a.folder, 'doomed.txt'), 'to be deleted')
    await writeFile(join(a.folder, 'old-name.txt'), 'to be renamed')
    await writeRandomFile(join(a.folder, 'big.bin'), 6)
    await lab.start(a)
    await waitUploaded(a)
    const before = (await status(a)).folders[0]!.stateHash
    await rm(join(a.folder, 'doomed.txt'))
    await rename(join(a.folder, 'old-name.txt'), join(a.folder, 'new-name.txt'))
    await waitUploaded(a, before)
    const treeA = await treeOf(a.folder)
    expect(treeA.has('doomed.txt')).toBe(false)
    expect(treeA.has('new-name.txt')).toBe(true)
    await lab.stop(a)

    // B starts alone: everything comes from the relay
    await lab.start(b)
    await waitTree(b, treeA)
    const sb = await status(b)
    expect(sb.peers.find(p => p.id === a.id)?.connected).toBe(false)
    expect(sb.receivedBytes[r.id]).toBeGreaterThan(6 * 1024 * 1024)
    expect(sb.receivedBytes[a.id] ?? 0).toBe(0)

    // B changes things and stops
    await waitUploaded(b)
    const beforeB = (await status(b)).folders[0]!.stateHash
    await writeFile(join(b.folder, 'a.txt'), 'edited by b')
    await rm(join(b.folder, 'dir/sub/b.txt'))
    await writeFile(join(b.folder, 'from-b.txt'), 'new on b')
    await rename(join(b.folder, 'big.bin'), join(b.folder, 'dir/big-moved.bin'))
    await waitUploaded(b, beforeB)
    const treeB = await treeOf(b.folder)
    expect(treeB.get('dir/big-moved.bin')).toBe(treeA.get('big.bin'))
    await lab.stop(b)

    // A comes back and gets B's changes from the relay alone
    await lab.start(a)
    await waitTree(a, treeB)
    expect((await status(a)).peers.find(p => p.id === b.id)?.connected).toBe(false)
  })
})
