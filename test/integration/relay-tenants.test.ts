import { describe, it, expect, afterEach } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { createNode, type FerryNode } from '../../src/node/create-node.ts'
import { deviceIdOf, loadDeviceKey } from '../../src/identity/device-key.ts'
import { signMemberList } from '../../src/access/member-list.ts'
import { decodeBlockCid } from '../../src/hashing/block-cid.ts'
import { MEMBERS_PROTOCOLS, MembersClient } from '../../protocols/members/index.ts'
import { INDEX_PROTOCOL_V1, INDEX_PROTOCOL_V2, INDEX_PROTOCOL_V3, INDEX_PROTOCOLS, subscribeIndex } from '../../protocols/index/index.ts'
import { BLOCKS_PROTOCOLS, fetchBlocks } from '../../protocols/blocks/index.ts'
import { HISTORY_PROTOCOLS, fetchHistory } from '../../protocols/history/index.ts'
import { REPLICA_PROTOCOLS, ReplicaClient } from '../../protocols/replica/index.ts'
import { ferry, ferryOk, status, waitFor, writeRandomFile } from '../helpers/ferry-process.ts'
import { relayStatus, useRelay, useRelayLabs, waitUploaded, type Relay } from '../helpers/relay-process.ts'
import { storedRelayBlocks } from '../helpers/relay-blocks.ts'

/** the error code a call fails with ('' if it does not fail) */
async function codeOf (p: Promise<unknown>): Promise<string> {
  try { await p; return '' } catch (err) { return (err as { code?: string }).code ?? (err as Error).name }
}

describe('one relay, two people: folders kept apart by signed member lists', () => {
  const env = useRelayLabs()
  const nodes: FerryNode[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  /** a bare libp2p node with `key`, connected to the relay */
  async function nodeAs (key: PrivateKey, r: Relay): Promise<FerryNode> {
    const n = await createNode({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], isTrusted: () => true, mdns: false })
    nodes.push(n)
    await n.dial(multiaddr(`${r.addr}/p2p/${r.id}`))
    return n
  }
  const open = async (n: FerryNode, r: Relay, protocols: readonly string[]): ReturnType<FerryNode['dialProtocol']> =>
    await n.dialProtocol(multiaddr(`${r.addr}/p2p/${r.id}`), [...protocols])

  /** what every protocol of the relay answers `n` about `folder` */
  async function answers (n: FerryNode, r: Relay, folder: string, cid: CID): Promise<Record<string, string>> {
    const members = new MembersClient(await open(n, r, MEMBERS_PROTOCOLS))
    const list = await codeOf(members.get(folder))
    await members.close()
    return {
      members: list,
      index: await codeOf(subscribeIndex(await open(n, r, INDEX_PROTOCOLS), folder, {}, { onRecords: async () => {}, onSynced: () => { throw new Error('synced') } })),
      blocks: await codeOf(fetchBlocks(await open(n, r, BLOCKS_PROTOCOLS), folder, [{ cid, size: 1 }], { onBlock: async () => { throw new Error('got a block') } })),
      history: await codeOf(fetchHistory(await open(n, r, HISTORY_PROTOCOLS), folder, 'a.txt')),
      replica: await codeOf(ReplicaClient.open(await open(n, r, REPLICA_PROTOCOLS), folder))
    }
  }

  it('a device the relay trusts but no member list names gets for an existing folder exactly what it gets for a made-up one; forged lists are refused', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a1 = await lab.device('a1', 'alice')
    const a2 = await lab.device('a2', 'alice')
    const b1 = await lab.device('b1', 'bob')
    const b2 = await lab.device('b2', 'bob')
    await lab.pair(a1, a2, 'alice')
    await lab.pair(b1, b2, 'bob')
    for (const [d, f] of [[a1, 'alice'], [a2, 'alice'], [b1, 'bob'], [b2, 'bob']] as const) await useRelay(d, r, f)
    await writeFile(join(a1.folder, 'a.txt'), 'alice private')
    await writeFile(join(b1.folder, 'b.txt'), 'bob private')
    await Promise.all([a1, a2, b1, b2].map(async d => { await lab.start(d) }))
    await Promise.all([waitUploaded(a1), waitUploaded(b1)])
    const sr = await relayStatus(r)
    expect(Object.fromEntries(sr.folders.map(f => [f.id, [...f.members].sort()]))).toEqual({ alice: [a1.id, a2.id].sort(), bob: [b1.id, b2.id].sort() })

    // what the relay holds is sealed: which block is whose, each member asking in its own folder
    const stored = await storedRelayBlocks(r.home)
    const all = stored.map(b => ({ cid: decodeBlockCid(CID.parse(b.cid).bytes), size: b.size }))
    for (const path of new Set(stored.map(b => b.path))) expect((await readFile(path)).includes('private')).toBe(false)
    const servedTo = async (key: Parameters<typeof nodeAs>[0], folder: string): Promise<{ got: string[], missing: string[] }> => {
      const node = await nodeAs(key, r)
      const got: string[] = []
      const missing = await fetchBlocks(await open(node, r, BLOCKS_PROTOCOLS), folder, all, { onBlock: async cid => { got.push(cid.toString()) } })
      return { got: got.sort(), missing: missing.map(String).sort() }
    }
    const toAlice = await servedTo(await loadDeviceKey(a1.home), 'alice')
    const toBob = await servedTo(await loadDeviceKey(b1.home), 'bob')
    // each gets its own folder's blocks and nothing of the other's; together they are all the relay holds
    expect(toAlice.got.length).toBeGreaterThan(0)
    expect(toBob.got.length).toBeGreaterThan(0)
    expect(toAlice.got.filter(c => toBob.got.includes(c))).toEqual([])
    expect([...toAlice.got, ...toBob.got].sort()).toEqual(all.map(b => b.cid.toString()).sort())
    expect(toBob.missing).toEqual(toAlice.got)
    const cidOf = (s: string): CID => all.find(b => b.cid.toString() === s)!.cid
    const cids = [cidOf(toAlice.got[0]!), cidOf(toBob.got[0]!)]

    // a stranger the relay trusts (it was added as a device), member of nothing
    const strangerKey = await generateKeyPair('Ed25519')
    await ferryOk(['--home', r.home, 'device', 'add', deviceIdOf(strangerKey), '--name', 'stranger'])
    const stranger = await nodeAs(strangerKey, r)
    for (const cid of cids) {
      const real = await answers(stranger, r, 'alice', cid)
      const madeUp = await answers(stranger, r, 'no-such-folder', cid)
      expect(real).toEqual({ members: 'ERR_FERRY_NOT_MEMBER', index: 'ERR_FERRY_NOT_MEMBER', blocks: 'ERR_FERRY_NOT_MEMBER', history: 'ERR_FERRY_NOT_MEMBER', replica: 'ERR_FERRY_NOT_MEMBER' })
      expect(madeUp).toEqual(real)
    }
    // bob's device, a member of bob, asking alice's folder gets what the stranger gets
    const bob = await nodeAs(await loadDeviceKey(b1.home), r)
    expect(await answers(bob, r, 'alice', cids[0]!)).toEqual(await answers(stranger, r, 'alice', cids[0]!))
    // alice's own device reads the sealed folder on index/3; on index/2 and /1 (a ferry from
    // before sealing, which would take the envelopes for files) the relay serves nothing
    const alice = await nodeAs(await loadDeviceKey(a1.home), r)
    const indexOn = async (protocol: string): Promise<string> => {
      let synced = false
      const code = await codeOf(subscribeIndex(await open(alice, r, [protocol]), 'alice', {}, { onRecords: async () => {}, onSynced: () => { synced = true; throw new Error('synced') } }))
      return synced ? 'synced' : code
    }
    expect(await indexOn(INDEX_PROTOCOL_V3)).toBe('synced')
    expect(await indexOn(INDEX_PROTOCOL_V2)).toBe('ERR_FERRY_NOT_MEMBER')
    expect(await indexOn(INDEX_PROTOCOL_V1)).toBe('ERR_FERRY_NOT_MEMBER')

    // forged member lists
    const members = new MembersClient(await open(stranger, r, MEMBERS_PROTOCOLS))
    const a1Key = await loadDeviceKey(a1.home)
    const strangerId = deviceIdOf(strangerKey)
    const takeOver = { folder: 'alice', version: 99, members: { [strangerId]: 'write' as const } }
    // a bad signature: signed by the stranger, claiming to be a1
    expect(await codeOf(members.put({ ...(await signMemberList(takeOver, strangerKey, a1.id)) }))).toBe('ERR_FERRY_FORGED_MEMBER_LIST')
    // a good signature by a device that is not a writer of the list held
    expect(await codeOf(members.put(await signMemberList(takeOver, strangerKey, strangerId)))).toBe('ERR_FERRY_NOT_MEMBER')
    // a1's real key, but not a newer version
    const held = (await relayStatus(r)).folders.find(f => f.id === 'alice')!.membersVersion!
    expect(await codeOf(members.put(await signMemberList({ ...takeOver, version: held, members: { [a1.id]: 'write', [strangerId]: 'write' } }, a1Key, a1.id)))).toBe('ERR_FERRY_MEMBER_LIST_STALE')
    await members.close()
    const after = (await relayStatus(r)).folders.find(f => f.id === 'alice')!
    expect(after.membersVersion).toBe(held)
    expect(after.members).not.toContain(strangerId)
    expect(await answers(stranger, r, 'alice', cids[0]!)).toEqual(await answers(stranger, r, 'no-such-folder', cids[0]!))
  })

  it('an upload over the quota is refused cleanly, and finishes once the quota is raised, without a restart', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay', { args: ['--quota', '300KiB'] })
    const a = await lab.device('a')
    await useRelay(a, r)
    await writeFile(join(a.folder, 'small.txt'), 'fits')
    await lab.start(a)
    await waitUploaded(a)
    await writeRandomFile(join(a.folder, 'big.bin'), 1)
    await waitFor('the relay refuses the upload', async () => (await status(a)).folders[0]!.replicaRefused?.code === 'ERR_FERRY_RELAY_QUOTA', 60_000)
    const f = (await status(a)).folders[0]!
    expect(f.relayQuota).toMatchObject({ relay: r.id, limitBytes: 300 * 1024 })
    expect(f.relayQuota!.usedBytes).toBeLessThanOrEqual(300 * 1024)
    const cli = await ferry(['--home', a.home, 'status'])
    expect(cli.stdout).toContain('refuses uploads: storage quota')
    const verified = JSON.parse(await ferryOk(['--home', r.home, 'relay', 'verify', '--json'])) as { ok: boolean, records: number }
    expect(verified.ok).toBe(true)
    const rs = await relayStatus(r)
    expect(rs.quotas.find(q => q.device === a.id)).toMatchObject({ limitBytes: 300 * 1024 })
    expect(r.log).toContain('storage quota')

    await ferryOk(['--home', r.home, 'relay', 'quota', 'set', a.id, '20MiB'])
    await waitFor('the upload finishes', async () => (await status(a)).folders[0]!.replicaInSync === true, 90_000)
    const done = (await status(a)).folders[0]!
    expect(done.replicaRefused).toBeUndefined()
    expect(JSON.parse(await ferryOk(['--home', r.home, 'relay', 'verify', '--json'])).ok).toBe(true)
    expect((await relayStatus(r)).quotas.find(q => q.device === a.id)!.usedBytes).toBeGreaterThan(1024 * 1024)
  })
})
