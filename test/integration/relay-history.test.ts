import { describe, it, expect } from 'vitest'
import { writeFile, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ferry, status, waitFor, type Device } from '../helpers/ferry-process.ts'
import { useRelay, useRelayLabs, waitUploaded } from '../helpers/relay-process.ts'
import type { Revision } from '../../src/history/revisions.ts'
import type { RestoreResult } from '../../src/history/restore.ts'

async function json<T> (d: Device, args: string[]): Promise<T> {
  const r = await ferry(['--home', d.home, ...args, '--json'])
  if (r.code !== 0) throw new Error(`ferry ${args.join(' ')} on ${d.name} exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

const content = async (d: Device, p: string): Promise<string | undefined> => existsSync(join(d.folder, p)) ? await readFile(join(d.folder, p), 'utf8') : undefined

describe('the relay\'s history reaches ferry revisions and ferry restore', () => {
  const env = useRelayLabs()

  it('a device that never saw an old version lists it from the relay and restores it from the relay alone', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await useRelay(a, r)
    await useRelay(b, r)

    // a alone with the relay: two versions; the relay keeps the first as history
    await writeFile(join(a.folder, 'report.txt'), 'version one')
    await lab.start(a)
    const h1 = await waitUploaded(a)
    await writeFile(join(a.folder, 'report.txt'), 'version two!')
    await waitUploaded(a, h1)
    await lab.stop(a)

    // b starts later: the relay's index gives it only the newest record
    await lab.start(b)
    await waitFor('b has version two', async () => await content(b, 'report.txt') === 'version two!', 60_000)
    const revisions = await json<Revision[]>(b, ['revisions', 'docs', 'report.txt'])
    const v1 = revisions.find(v => v.size === 'version one'.length)
    expect(v1, JSON.stringify(revisions)).toBeDefined()
    expect(v1!.sources).toContainEqual({ kind: 'relay', status: 'available', device: r.id })
    const v2 = revisions.find(v => v.current)
    expect(v2!.size).toBe('version two!'.length)

    // its content comes from the relay (a is off)
    const restored = await json<RestoreResult>(b, ['restore', 'docs', 'report.txt', '--version', v1!.versionId])
    expect(restored).toMatchObject({ versionId: v1!.versionId, size: 11, from: { peers: 11 } })
    expect(await content(b, 'report.txt')).toBe('version one')
    expect((await status(b)).peers.find(p => p.id === a.id)?.connected).toBe(false)

    // without the relay the old version is unknown to b
    await relays.stop(r)
    await waitFor('b sees the relay gone', async () => (await status(b)).peers.find(p => p.id === r.id)?.connected === false)
    const offline = await json<Revision[]>(b, ['revisions', 'docs', 'report.txt'])
    expect(offline.some(v => v.versionId === v1!.versionId && v.sources.some(s => s.kind === 'relay' && s.status === 'available'))).toBe(false)
  })
})
