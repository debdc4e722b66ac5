import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, waitConverged, waitFor, waitInSync, type Device } from '../helpers/ferry-process.ts'
import { callDaemon } from '../../src/control/control-client.ts'

const MODES: Record<string, number> = {
  'm700.sh': 0o700,
  'm750.sh': 0o750,
  'm600.txt': 0o600,
  'm640.txt': 0o640,
  'm444.txt': 0o444,
  'm755.sh': 0o755,
  'm644.txt': 0o644
}

async function modeOf (d: Device, path: string): Promise<number> {
  return (await stat(join(d.folder, path))).mode & 0o777
}

/** how many versions of `path` the running daemon knows (`ferry revisions`) */
async function versionCount (d: Device, path: string): Promise<number> {
  return (await callDaemon<unknown[]>(d.home, 'GET', `/revisions?${new URLSearchParams({ folder: 'docs', path }).toString()}`)).length
}

async function counts (d: Device): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const p of Object.keys(MODES)) out[p] = await versionCount(d, p)
  return out
}

/** Waits until `path` on `d` holds `text`: a change made after everything before it was seen. */
async function arrives (d: Device, path: string, text: string): Promise<void> {
  await waitFor(`${path} on ${d.name}`, async () => await readFile(join(d.folder, path), 'utf8').catch(() => '') === text, 60_000)
}

/** Permission bits travel exactly, both ways, and never ping-pong. */
describe('file modes', () => {
  const lab = new Lab()
  let a: Device
  let b: Device

  beforeAll(async () => {
    await lab.setup()
    a = await lab.device('a')
    b = await lab.device('b')
    await lab.pair(a, b)
    await Promise.all([lab.start(a), lab.start(b)])
  })
  afterAll(async () => { await lab.cleanup() })

  it('0700, 0750, 0600, 0640, 0444, 0755, 0644 arrive as they are, and the versions stay put after full rescans on both', async () => {
    for (const [p, mode] of Object.entries(MODES)) {
      await writeFile(join(a.folder, p), `content of ${p}\n`)
      await chmod(join(a.folder, p), mode)
    }
    await waitConverged([a, b])
    for (const [p, mode] of Object.entries(MODES)) {
      expect((await modeOf(b, p)).toString(8), p).toBe(mode.toString(8))
      expect((await modeOf(a, p)).toString(8), p).toBe(mode.toString(8))
    }
    const before = [await counts(a), await counts(b)]

    // a restart scans everything (the start-up full walk); a marker file made after it and seen on
    // the other side proves both walks and the sync passes after them are done
    await Promise.all([lab.stop(a), lab.stop(b)])
    await Promise.all([lab.start(a), lab.start(b)])
    await writeFile(join(a.folder, 'marker-a.txt'), 'a')
    await arrives(b, 'marker-a.txt', 'a')
    await writeFile(join(b.folder, 'marker-b.txt'), 'b')
    await arrives(a, 'marker-b.txt', 'b')
    await waitInSync([a, b])
    expect([await counts(a), await counts(b)]).toEqual(before)
    for (const [p, mode] of Object.entries(MODES)) {
      expect((await modeOf(b, p)).toString(8), p).toBe(mode.toString(8))
      expect((await modeOf(a, p)).toString(8), p).toBe(mode.toString(8))
    }
  })

  it('a change of the permission bits alone travels, in both directions, never wider than the sender made it', async () => {
    await chmod(join(b.folder, 'm640.txt'), 0o600)
    await chmod(join(a.folder, 'm644.txt'), 0o700)
    await waitFor('the new bits on the other side', async () => await modeOf(a, 'm640.txt') === 0o600 && await modeOf(b, 'm644.txt') === 0o700, 60_000)
    const before = [await counts(a), await counts(b)]
    await writeFile(join(a.folder, 'marker-c.txt'), 'c')
    await arrives(b, 'marker-c.txt', 'c')
    await writeFile(join(b.folder, 'marker-d.txt'), 'd')
    await arrives(a, 'marker-d.txt', 'd')
    await waitInSync([a, b])
    expect([await counts(a), await counts(b)]).toEqual(before)
    expect(await modeOf(b, 'm640.txt')).toBe(0o600)
    expect(await modeOf(a, 'm644.txt')).toBe(0o700)
  })
})
