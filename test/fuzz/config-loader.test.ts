import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { checkConfig, readConfig, ROLES, type Config } from '../../src/config/config.ts'
import { cborValue, mutate, params, report, tally, TIMEOUT_MS, typedOutcome } from './fuzz-kit.ts'

const a = '12D3KooWGaSTcfHSkVV1GYYCYpFMhKpCNSd8fnGxoex66LbkQgYe'
const b = '12D3KooWHV95iGNvbdREwtxjNR3LEf6jF8i71pgnaJB71m9mFgTm'
const valid: Config = {
  version: 1,
  devices: { [a]: { name: 'laptop', addrs: ['/ip4/127.0.0.1/tcp/4001', '/dns4/x.example/tcp/1'] }, [b]: { addrs: [] } },
  folders: {
    docs: { path: '/home/u/docs', members: { [a]: 'read-write', [b]: 'replica' }, retentionDays: 7 },
    pics: { path: '/home/u/pics', members: { [a]: 'owner' }, role: 'read-only' }
  }
}

/** JSON values (what JSON.parse can give), including the strings config entries go wrong with */
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('notapeer', 'garbage', 42, '/ip4/1.2.3.4/tcp/1', 'relative/path', '/abs', 'owner', 'admin', a, '', null, [], {}),
  cborValue.filter(v => !(v instanceof Uint8Array)).map(v => JSON.parse(JSON.stringify(v) ?? 'null') as unknown)
)

/** the invariants everything that reads the config relies on */
function usable (c: Config): void {
  expect(c.version).toBe(1)
  for (const [id, d] of Object.entries(c.devices)) {
    peerIdFromString(id)
    expect(Array.isArray(d.addrs)).toBe(true)
    for (const addr of d.addrs) multiaddr(addr)
    if (d.name !== undefined) expect(typeof d.name).toBe('string')
  }
  for (const [id, f] of Object.entries(c.folders)) {
    expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
    expect(typeof f.path === 'string' && isAbsolute(f.path)).toBe(true)
    if (f.role !== undefined) expect(ROLES).toContain(f.role)
    for (const [m, r] of Object.entries(f.members)) { peerIdFromString(m); expect(ROLES).toContain(r) }
    if (f.retentionDays !== undefined) expect(f.retentionDays >= 0).toBe(true)
  }
}

describe('fuzz: config loader', () => {
  it('checkConfig: every parsed file gives a usable config (bad entries skipped) or a typed error', () => {
    const inputs = fc.oneof(
      { arbitrary: jsonish, weight: 1 },
      { arbitrary: fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.constantFrom('replace' as const, 'replace' as const, 'delete' as const, 'insert' as const), jsonish).map(([path, op, v]) => mutate(valid, path, op, v)), weight: 6 }
    )
    const t = tally()
    fc.assert(fc.property(inputs, input => {
      typedOutcome(t, () => {
        const { config, skipped } = checkConfig(input, 'config.json')
        usable(config)
        for (const line of skipped) expect(line).not.toContain('\n')
      })
    }), params(301))
    report('config', t)
  }, TIMEOUT_MS)

  it('readConfig: every file content is loaded or refused with a typed error', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ferry-fuzz-config-'))
    try {
      const texts = fc.oneof(fc.string({ maxLength: 200 }), jsonish.map(v => JSON.stringify(v) ?? ''), fc.constant(JSON.stringify(valid)).chain(s => fc.nat({ max: s.length }).map(n => s.slice(0, n))))
      const t = tally()
      // file I/O per input: a tenth of the runs
      await fc.assert(fc.asyncProperty(texts, async text => {
        await writeFile(join(home, 'config.json'), text)
        t.runs++
        try { usable((await readConfig(home)).config); t.accepted++ } catch (err) {
          if (!(err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_FERRY'))) throw err
          t.rejected++
          t.codes.set(String((err as { code: unknown }).code), (t.codes.get(String((err as { code: unknown }).code)) ?? 0) + 1)
        }
      }), { ...params(302), numRuns: Math.max(100, Math.floor(params(302).numRuns! / 10)) })
      report('config file', t)
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  }, TIMEOUT_MS)
})
