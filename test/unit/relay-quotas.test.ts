import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { Quotas } from '../../relay/store/quotas.ts'

function cidOf (n: number): ReturnType<typeof blockCid> {
  return blockCid(new Uint8Array(8).fill(n))
}

describe('relay quotas', () => {
  let dir: string
  let db: ClassicLevel<string, Uint8Array>

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-quotas-'))
    db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
    await db.open()
  })

  afterEach(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function reopened (): Promise<Quotas> {
    if (db.status === 'open') await db.close()
    db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' })
    await db.open()
    const q = new Quotas(db)
    await q.open()
    return q
  }

  it('charges many blocks arriving at once to their first uploader, once each, durably', async () => {
    const q = new Quotas(db)
    await q.open()
    // 100 blocks from a, the same block from a and b at once (and twice from b), one more from b
    const charges = Array.from({ length: 100 }, async (_, i) => { await q.charge('a', cidOf(i), 1000 + i) })
    charges.push(q.charge('a', cidOf(200), 7), q.charge('b', cidOf(200), 7), q.charge('b', cidOf(200), 7))
    charges.push(q.charge('b', cidOf(201), 11))
    await Promise.all(charges)
    const aBytes = Array.from({ length: 100 }, (_, i) => 1000 + i).reduce((n, b) => n + b, 0) + 7
    expect(q.usage('a').usedBytes).toBe(aBytes)
    expect(q.usage('b').usedBytes).toBe(11)
    // a block charged before costs nobody again
    await q.charge('b', cidOf(5), 1005)
    expect(q.usage('b').usedBytes).toBe(11)
    const again = await reopened()
    expect(again.usage('a').usedBytes).toBe(aBytes)
    expect(again.usage('b').usedBytes).toBe(11)
    await again.released(cidOf(200))
    expect(again.usage('a').usedBytes).toBe(aBytes - 7)
    expect((await reopened()).usage('a').usedBytes).toBe(aBytes - 7)
  })

  it('a charge that cannot be written fails, and so does every charge written with it', async () => {
    const q = new Quotas(db)
    await q.open()
    await q.charge('a', cidOf(1), 10)
    await db.close()
    const results = await Promise.allSettled([q.charge('a', cidOf(2), 10), q.charge('a', cidOf(3), 10)])
    expect(results.map(r => r.status)).toEqual(['rejected', 'rejected'])
    expect(q.usage('a').usedBytes).toBe(10)
    const again = await reopened()
    expect(again.usage('a').usedBytes).toBe(10)
    await again.charge('a', cidOf(2), 10)
    expect(again.usage('a').usedBytes).toBe(20)
  })
})
