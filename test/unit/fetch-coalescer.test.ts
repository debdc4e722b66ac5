import { describe, it, expect } from 'vitest'
import type { CID } from 'multiformats/cid'
import { FetchCoalescer, type FetchSome } from '../../src/sync/fetch-coalescer.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { contiguous, type BlockBytes, type WantedBlock } from '../../protocols/blocks/index.ts'

const block = (text: string): { want: WantedBlock, data: Uint8Array } => {
  const data = new TextEncoder().encode(text)
  return { want: { cid: blockCid(data), size: data.byteLength }, data }
}

describe('fetch coalescer', () => {
  it('merges small requests for the same peers into one fetch, asking shared blocks once', async () => {
    const x = block('x')
    const y = block('y')
    const shared = block('shared')
    const calls: WantedBlock[][] = []
    const fetchSome: FetchSome = async (_peers, wanted, onBlock) => {
      calls.push(wanted)
      for (const w of wanted) await onBlock(w.cid, [x, y, shared].find(b => b.want.cid.equals(w.cid))!.data)
      return []
    }
    const c = new FetchCoalescer('docs', fetchSome)
    const got: Record<string, string[]> = { a: [], b: [] }
    const sink = (name: string) => async (_cid: CID, data: BlockBytes): Promise<void> => { got[name]!.push(new TextDecoder().decode(contiguous(data))) }
    await Promise.all([
      c.fetch(['p1', 'p2'], [x.want, shared.want], sink('a')),
      c.fetch(['p2', 'p1'], [y.want, shared.want], sink('b'))
    ])
    expect(calls).toHaveLength(1)
    expect(calls[0]).toHaveLength(3)
    expect(got.a!.sort()).toEqual(['shared', 'x'])
    expect(got.b!.sort()).toEqual(['shared', 'y'])
  })

  it('fails only the requests whose blocks could not be had', async () => {
    const x = block('x')
    const y = block('y')
    const fetchSome: FetchSome = async (_peers, wanted, onBlock) => {
      await onBlock(x.want.cid, x.data)
      return wanted.filter(w => w.cid.equals(y.want.cid))
    }
    const c = new FetchCoalescer('docs', fetchSome)
    const [ok, bad] = await Promise.allSettled([
      c.fetch(['p'], [x.want], async () => {}),
      c.fetch(['p'], [y.want], async () => {})
    ])
    expect(ok.status).toBe('fulfilled')
    expect(bad.status).toBe('rejected')
    expect((bad as PromiseRejectedResult).reason).toMatchObject({ name: 'BlocksUnavailableError', code: 'ERR_FERRY_BLOCKS_UNAVAILABLE' })
  })
})
