import { describe, it, expect } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { ferry, status, waitFor } from '../helpers/ferry-process.ts'
import { relayStatus, useRelay, useRelayLabs } from '../helpers/relay-process.ts'

const FILES = 1500

describe('relay restart safety', () => {
  const env = useRelayLabs()

  it('kill -9 while records and blocks of many files arrive: the store verifies, and the device completes it', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    await useRelay(a, r)
    for (let i = 0; i < FILES; i++) await writeFile(join(a.folder, `f${i}.dat`), randomBytes(1024 + (i % 7) * 512))
    await lab.start(a)
    await waitFor('the relay holds some records', async () => ((await relayStatus(r)).folders[0]?.paths ?? 0) > 0, 120_000)
    await relays.stop(r, 'SIGKILL')
    const offline = await ferry(['--home', r.home, 'relay', 'verify', '--json'])
    expect(offline.code).toBe(0)
    const partial = JSON.parse(offline.stdout) as { records: number, ok: boolean }
    expect(partial.records).toBeLessThan(FILES)

    await relays.start(r)
    await waitFor('a uploaded everything', async () => (await status(a)).folders[0]!.replicaInSync === true, 120_000)
    expect((await relayStatus(r)).folders[0]!.paths).toBe(FILES)
    const full = await ferry(['--home', r.home, 'relay', 'verify', '--json'])
    expect(full.code).toBe(0)
    expect(JSON.parse(full.stdout)).toMatchObject({ ok: true, records: FILES, missingBlocks: 0 })
  })
})
