import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFileSync } from 'node:child_process'
import { writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferryOk, waitConverged } from '../helpers/ferry-process.ts'

/**
 * mDNS discovery without any static address. Runs inside a network namespace of its own with
 * only loopback up, so the multicast never leaves this test (see shared notes, mDNS section).
 */
const NETNS = `ferry-mdns-${process.pid}`

function netnsAvailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace'
  try { execFileSync('ip', ['-V'], { stdio: 'ignore' }) } catch { return 'needs iproute2 (`ip`)' }
  return undefined
}

const unavailable = netnsAvailable()
if (unavailable !== undefined) console.warn(`mdns-discovery: skipped: ${unavailable}`)

describe.skipIf(unavailable !== undefined)('mDNS on the LAN', () => {
  const lab = new Lab()
  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', NETNS])
    execFileSync('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up'])
    await lab.setup()
  })
  afterAll(async () => {
    await lab.cleanup()
    try { execFileSync('ip', ['netns', 'del', NETNS]) } catch {}
  })

  it('two devices that trust each other find each other and sync with no address given', async () => {
    const a = await lab.device('a')
    const b = await lab.device('b')
    await ferryOk(['--home', a.home, 'device', 'add', b.id])
    await ferryOk(['--home', b.home, 'device', 'add', a.id])
    await ferryOk(['--home', a.home, 'share', 'docs', b.id])
    await ferryOk(['--home', b.home, 'share', 'docs', a.id])
    await writeFile(join(a.folder, 'found.txt'), 'via mdns')
    const opts = { netns: NETNS, mdns: true, listen: '/ip4/0.0.0.0/tcp/0' }
    await Promise.all([lab.start(a, opts), lab.start(b, opts)])
    await waitConverged([a, b], 30_000)
    expect(await readFile(join(b.folder, 'found.txt'), 'utf8')).toBe('via mdns')
  })
})
