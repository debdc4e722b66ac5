import { describe, it, expect, afterEach } from 'vitest'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { Lab, ferry, ferryOk, sameTree, status, treeOf, waitFor, type Device } from '../helpers/ferry-process.ts'
import { EventTail } from '../helpers/event-tail.ts'
import { createNode } from '../../src/node/create-node.ts'
import { subscribeIndex, INDEX_PROTOCOL_V1 } from '../../protocols/index/index.ts'
import { contiguous, fetchBlocks, BLOCKS_PROTOCOL_V2 } from '../../protocols/blocks/index.ts'
import { blockCid } from '../../src/hashing/block-cid.ts'
import { rejection } from '../helpers/async-checks.ts'
import type { Config } from '../../src/config/config.ts'

const config = async (d: Device): Promise<Config> => JSON.parse(await readFile(join(d.home, 'config.json'), 'utf8')) as Config

const oneLineError = (r: { code: number, stderr: string }, pattern: RegExp): void => {
  expect(r.code).not.toBe(0)
  expect(r.stderr.trim().split('\n')).toHaveLength(1)
  expect(r.stderr).toMatch(pattern)
}

async function invite (d: Device, ...flags: string[]): Promise<string> {
  return (await ferryOk(['--home', d.home, 'invite', 'docs', ...flags])).split('\n')[0]!
}

async function waitSameTree (from: string, to: string): Promise<void> {
  await waitFor(`${to} to equal ${from}`, async () => sameTree(await treeOf(from), await treeOf(to)).valueOf(), 60_000)
}

describe('sharing with a pairing code', () => {
  let lab: Lab
  let tail: EventTail | undefined
  afterEach(async () => {
    await tail?.stop()
    await lab.cleanup()
  })

  it('ferry join makes inviter and joiner members of the folder; a code works once; bad and expired codes are refused', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b', 'b-own')
    const c = await lab.device('c', 'c-own')
    const d = await lab.device('d', 'd-own')
    await writeFile(join(a.folder, 'hello.txt'), 'from a')
    await lab.start(a)
    tail = await new EventTail(a.home).ready()

    // no daemon, unknown folder: one-line errors
    oneLineError(await ferry(['--home', b.home, 'invite', 'b-own']), /^ferry: no ferry daemon is running/)
    oneLineError(await ferry(['--home', a.home, 'invite', 'nope']), /^ferry: no folder nope/)

    const code = await invite(a)
    expect(code).toMatch(/^ferry1:[A-Za-z0-9_-]+$/)
    expect((await stat(join(a.home, 'invitations.json'))).mode & 0o777).toBe(0o600)
    const book = await readFile(join(a.home, 'invitations.json'), 'utf8')
    expect(book).toContain('"role": "read-write"')
    expect(book).not.toContain(Buffer.from(code.slice(7), 'base64url').subarray(-32).toString('hex'))

    // b joins with its daemon stopped
    const bDocs = join(dirname(b.folder), 'shared')
    const joined = await ferry(['--home', b.home, 'join', code, bDocs, '--name', 'a'])
    expect(joined.stderr).toBe('')
    expect(joined.code).toBe(0)
    expect(joined.stdout).toContain(`joined folder docs at ${bDocs} (read-write)`)
    expect((await config(b)).devices[a.id]).toMatchObject({ name: 'a', addrs: [a.addr] })
    expect((await config(b)).folders.docs).toEqual({ path: bDocs, members: { [a.id]: 'owner' }, fsid: expect.any(String) })
    expect((await config(a)).folders.docs!.members).toEqual({ [b.id]: 'read-write' })
    expect((await config(a)).devices[b.id]).toBeDefined()
    const accepted = await tail.next('share accepted', e => e.type === 'share.accepted')
    expect(accepted).toMatchObject({ folder: 'docs', device: b.id, role: 'read-write' })

    await lab.start(b)
    await waitSameTree(a.folder, bDocs)
    // read-write: b's changes reach a
    await writeFile(join(bDocs, 'from-b.txt'), 'b was here')
    await waitSameTree(bDocs, a.folder)

    // the same code again (c): refused, nothing recorded on either side
    oneLineError(await ferry(['--home', c.home, 'join', code, join(dirname(c.folder), 'shared')]), /^ferry: this invitation to folder docs was already used/)
    expect((await config(c)).folders.docs).toBeUndefined()
    expect((await config(a)).devices[c.id]).toBeUndefined()

    // c joins with its daemon running, read-only: the daemon reloads and syncs by itself
    await lab.start(c)
    const cDocs = join(dirname(c.folder), 'shared')
    const roCode = await invite(a, '--read-only')
    const r = await ferryOk(['--home', c.home, 'join', roCode, cDocs])
    expect(r).toContain('(read-only)')
    expect((await config(c)).folders.docs).toEqual({ path: cDocs, members: { [a.id]: 'owner' }, role: 'read-only', fsid: expect.any(String) })
    expect((await config(a)).folders.docs!.members[c.id]).toBe('read-only')
    // c's daemon was running: a learnt its address from the join
    expect((await config(a)).devices[c.id]!.addrs).toContain(c.addr)
    await waitSameTree(a.folder, cDocs)

    // expired, mangled, and cut codes; a join of an existing folder id is refused before spending the code
    const shortLived = await invite(a, '--expires', '1s')
    await new Promise(resolve => setTimeout(resolve, 1_500))
    oneLineError(await ferry(['--home', d.home, 'join', shortLived, join(dirname(d.folder), 'shared')]), /^ferry: this invitation to folder docs expired at /)
    oneLineError(await ferry(['--home', d.home, 'join', 'ferry1:AAAA', join(dirname(d.folder), 'shared')]), /^ferry: not a valid pairing code/)
    oneLineError(await ferry(['--home', d.home, 'join', code.slice(0, -10), join(dirname(d.folder), 'shared')]), /^ferry: not a valid pairing code/)
    oneLineError(await ferry(['--home', d.home, 'join', 'hello', join(dirname(d.folder), 'shared')]), /^ferry: not a valid pairing code/)
    const fresh = await invite(a)
    oneLineError(await ferry(['--home', c.home, 'join', fresh, join(dirname(c.folder), 'again')]), /^ferry: folder docs already exists/)
    // ... so the code still works for someone else
    await ferryOk(['--home', d.home, 'join', fresh, join(dirname(d.folder), 'shared')])
    expect((await config(a)).folders.docs!.members[d.id]).toBe('read-write')
    expect((await status(a)).peers.map(p => p.id)).toEqual(expect.arrayContaining([b.id, c.id, d.id]))

    // the inviter's daemon is gone: a clear error, nothing recorded
    const e = await lab.device('e', 'e-own')
    const last = await invite(a)
    await lab.stop(a)
    oneLineError(await ferry(['--home', e.home, 'join', last, join(dirname(e.folder), 'shared')]), /^ferry: could not reach the inviting device at \/ip4\/127\.0\.0\.1\/tcp\/\d+: /)
    expect((await config(e)).folders.docs).toBeUndefined()
  })

  it('a stranger gets in only while an invitation is pending, and then only to join: no records, no blocks', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const content = new TextEncoder().encode('secret content of a')
    await writeFile(join(a.folder, 'secret.txt'), content)
    await lab.start(a)
    const stranger = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [], isTrusted: () => true, mdns: false })
    await stranger.start()
    try {
      const target = multiaddr(`${a.addr}/p2p/${a.id}`)
      // no invitation: the gater drops the connection
      await rejection(stranger.dialProtocol(target, INDEX_PROTOCOL_V1, { signal: AbortSignal.timeout(5_000) }))
      await invite(a)
      // with one pending: connected, but every protocol other than join resets its streams unanswered
      const index = await stranger.dialProtocol(target, INDEX_PROTOCOL_V1, { signal: AbortSignal.timeout(5_000) })
      const records: unknown[] = []
      const err = await rejection(subscribeIndex(index, 'docs', {}, { onRecords: async r => { records.push(...r) }, onSynced: () => {} }))
      expect(err.code).toBe('ERR_FERRY_TRUNCATED')
      expect(records).toEqual([])
      const blocks = await stranger.dialProtocol(target, BLOCKS_PROTOCOL_V2, { signal: AbortSignal.timeout(5_000) })
      const got: Uint8Array[] = []
      const berr = await rejection(fetchBlocks(blocks, 'docs', [{ cid: blockCid(content), size: content.byteLength }], { onBlock: async (_, data) => { got.push(contiguous(data)) } }))
      expect(berr.code).not.toBe(undefined)
      expect(got).toEqual([])
      // and a is not listing it as a peer, nor announcing it
      expect((await status(a)).peers).toEqual([])
    } finally {
      await stranger.stop()
    }
  })
})
