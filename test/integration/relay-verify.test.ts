import { describe, it, expect } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ferry, status, waitFor, writeRandomFile } from '../helpers/ferry-process.ts'
import { useRelay, useRelayLabs } from '../helpers/relay-process.ts'
import { storedRelayBlocks } from '../helpers/relay-blocks.ts'

describe('relay verify', () => {
  const env = useRelayLabs()

  it('finds a corrupted block, and a device that still has the block uploads it again', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    await useRelay(a, r)
    await writeRandomFile(join(a.folder, 'data.bin'), 4)
    await writeFile(join(a.folder, 'note.txt'), 'small')
    await lab.start(a)
    // in sync with the relay once both files are scanned (not merely before the first scan)
    await waitFor('a uploaded', async () => { const f = (await status(a)).folders[0]!; return f.localFiles >= 2 && f.replicaInSync === true }, 60_000)
    const stored = await storedRelayBlocks(r.home)
    expect(stored.length).toBeGreaterThan(2)
    const ok = await ferry(['--home', r.home, 'relay', 'verify'])
    expect(ok.code).toBe(0)

    // flip one byte in the middle of a stored block
    const victim = stored[1]!
    const bytes = await readFile(victim.path)
    bytes[victim.offset + (victim.size >> 1)]! ^= 0xff
    await writeFile(victim.path, bytes)
    const sentBefore = (await status(a)).folders[0]!.replicaSentBytes!

    const bad = await ferry(['--home', r.home, 'relay', 'verify', '--json'])
    expect(bad.code).not.toBe(0)
    const report = JSON.parse(bad.stdout) as { ok: boolean, damagedBlocks: string[] }
    expect(report.ok).toBe(false)
    expect(report.damagedBlocks).toEqual([victim.cid])

    // the block was quarantined; the device re-uploads it: it is back and the store verifies again
    let last = ''
    await waitFor('the block is back', async () => {
      const v = await ferry(['--home', r.home, 'relay', 'verify', '--json'])
      last = v.stdout
      return v.code === 0 && (JSON.parse(v.stdout) as { missingBlocks: number }).missingBlocks === 0
    }, 60_000).catch(err => { throw new Error(`${(err as Error).message}: ${last}\n${a.log.slice(-2000)}\n${r.log.slice(-2000)}`) })
    expect((await storedRelayBlocks(r.home)).map(b => b.cid)).toEqual(stored.map(b => b.cid))
    const sentAfter = (await status(a)).folders[0]!.replicaSentBytes!
    expect(sentAfter - sentBefore).toBe(victim.size)
  })
})
