import { describe, it, expect } from 'vitest'
import { readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ferry, ferryOk, sameTree, status, treeOf, waitFor, type Device } from '../helpers/ferry-process.ts'
import { useRelay, useRelayLabs, waitUploaded, type Relay } from '../helpers/relay-process.ts'
import { KeyringFiles } from '../../src/keys/keyring-file.ts'
import { currentKey, type FolderKeyring } from '../../src/keys/folder-keyring.ts'
import type { Revision } from '../../src/history/revisions.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { createNode } from '../../src/node/create-node.ts'
import { loadDeviceKey } from '../../src/identity/device-key.ts'
import { exchangeKeys, KEYS_PROTOCOL_V1 } from '../../protocols/keys/index.ts'
import { waitForEvent } from '../helpers/wait-for-event.ts'
import { rejection } from '../helpers/async-checks.ts'
import { getSealedKeyring, SEALED_KEYRING_PROTOCOL_V1 } from '../../protocols/sealed-keyring/index.ts'
import { sealedUnder } from '../../src/keys/sealed-keyring.ts'

const keyring = async (d: { home: string }, folder = 'docs'): Promise<FolderKeyring | undefined> => await new KeyringFiles(d.home).load(folder)
const keyIds = async (d: { home: string }): Promise<string[]> => ((await keyring(d))?.keys ?? []).map(k => k.id).sort()

async function json<T> (d: { home: string }, args: string[]): Promise<T> {
  const r = await ferry(['--home', d.home, ...args, '--json'])
  if (r.code !== 0) throw new Error(`ferry ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

/** every file under `dir`, read whole (LevelDB tables and logs included) */
async function allBytes (dir: string): Promise<Buffer[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return await Promise.all(entries.filter(e => e.isFile()).map(async e => await readFile(join(e.parentPath, e.name))))
}

/** no key of `ring`, raw, hex or base64, is anywhere in the relay's home */
async function expectNoKeyIn (relay: Relay, ring: FolderKeyring): Promise<void> {
  const files = await allBytes(relay.home)
  expect(files.length).toBeGreaterThan(3)
  for (const k of ring.keys) {
    const raw = Buffer.from(k.key)
    for (const needle of [raw, Buffer.from(raw.toString('base64')), Buffer.from(raw.toString('hex')), Buffer.from(raw.toString('base64url'))]) {
      expect(files.some(f => f.includes(needle)), `key ${k.id} found in the relay's home`).toBe(false)
    }
  }
}

/** the id of the key the relay's sealed keyring of docs is sealed under, asked with `d`'s identity */
async function sealedOnRelay (d: Device, r: Relay): Promise<string | undefined> {
  const node = await createNode({ privateKey: await loadDeviceKey(d.home), listen: [], isTrusted: id => id === r.id, mdns: false, abortOnPingFailure: false })
  try {
    await node.start()
    await node.dial(multiaddr(`${r.addr}/p2p/${r.id}`), { signal: AbortSignal.timeout(15_000) })
    const blob = await getSealedKeyring(await node.dialProtocol(peerIdFromString(r.id), SEALED_KEYRING_PROTOCOL_V1, { signal: AbortSignal.timeout(15_000) }), 'docs')
    return blob === null ? undefined : sealedUnder(blob)
  } finally {
    await node.stop()
  }
}

describe('folder keys between members', () => {
  const env = useRelayLabs()

  it('two devices that added docs apart end with one keyring and one current key; the relay never gets a key', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b')
    // each made its own key at `folder add`, kept 0600
    const [ka, kb] = [await keyIds(a), await keyIds(b)]
    expect(ka).toHaveLength(1)
    expect(kb).toHaveLength(1)
    expect(ka).not.toEqual(kb)
    expect((await stat(join(a.home, 'folder-keys', 'docs.json'))).mode & 0o777).toBe(0o600)
    await lab.pair(a, b)
    await useRelay(a, r, 'docs', { copyKeyring: false })
    await useRelay(b, r, 'docs', { copyKeyring: false })
    await writeFile(join(a.folder, 'hello.txt'), 'hello')
    await lab.start(a)
    await lab.start(b)
    await waitFor('a and b hold both keys', async () => (await keyIds(a)).length === 2 && (await keyIds(b)).length === 2, 60_000)
    expect(await keyIds(a)).toEqual(await keyIds(b))
    expect(currentKey((await keyring(a))!).id).toBe(currentKey((await keyring(b))!).id)
    // the current key changed on one of them: `folder.key` said so, naming the other
    const changed = currentKey((await keyring(a))!).id === ka[0] ? b : a
    const other = changed === a ? b : a
    const current = currentKey((await keyring(a))!).id
    await waitForEvent(changed.home, 'folder.key', e => e.device === other.id && e.keyId === current, 30_000)
    await waitUploaded(a)
    await expectNoKeyIn(r, (await keyring(a))!)
  })

  it('a joiner starts with the folder\'s keys; after unshare and rekey the removed member never gets the new key, the others do', async () => {
    const { lab } = env
    const a = await lab.device('a')
    const b = await lab.device('b', 'b-own')
    const x = await lab.device('x')
    await lab.start(a)
    // b joins with a code: the keyring comes with the welcome (/ferry/join/2), before b's daemon runs
    const code = (await ferryOk(['--home', a.home, 'invite', 'docs'])).split('\n')[0]!
    await ferryOk(['--home', b.home, 'join', code, join(lab.dir, 'b', 'docs')])
    expect(await keyIds(b)).toEqual(await keyIds(a))
    // x added docs apart and shares it with a only
    await ferryOk(['--home', a.home, 'device', 'add', x.id, '--addr', x.addr, '--name', 'x'])
    await ferryOk(['--home', x.home, 'device', 'add', a.id, '--addr', a.addr, '--name', 'a'])
    await ferryOk(['--home', x.home, 'share', 'docs', a.id])
    await ferryOk(['--home', a.home, 'share', 'docs', x.id])
    await lab.start(b)
    await lab.start(x)
    await waitFor('a, b and x hold the same two keys', async () => {
      const ids = await keyIds(a)
      return ids.length === 2 && JSON.stringify(await keyIds(b)) === JSON.stringify(ids) && JSON.stringify(await keyIds(x)) === JSON.stringify(ids)
    }, 60_000)

    // x is removed; the new key goes to b (connected) and never to x
    await ferryOk(['--home', a.home, 'unshare', 'docs', 'x'])
    const rekey = await json<{ keyId: string, epoch: number, sentTo: string[] }>(a, ['folder', 'rekey', 'docs'])
    expect(rekey.epoch).toBe(1)
    expect(currentKey((await keyring(a))!).id).toBe(rekey.keyId)
    await waitFor('b has the new key as its current one', async () => currentKey((await keyring(b))!).id === rekey.keyId, 60_000)
    expect(rekey.sentTo).not.toContain(x.id)
    await waitFor('x learns it was removed', async () => (await status(x)).folders.find(f => f.id === 'docs')?.removed !== undefined, 60_000)
    await lab.stop(x)
    expect(await keyIds(x)).not.toContain(rekey.keyId)
    expect((await keyring(x))!.keys).toHaveLength(2)
    // x asking a itself, with its own key, is refused
    const node = await createNode({ privateKey: await loadDeviceKey(x.home), listen: [], isTrusted: id => id === a.id, mdns: false, abortOnPingFailure: false })
    try {
      await node.start()
      await node.dial(multiaddr(`${a.addr}/p2p/${a.id}`), { signal: AbortSignal.timeout(15_000) })
      const asked = exchangeKeys(await node.dialProtocol(peerIdFromString(a.id), KEYS_PROTOCOL_V1, { signal: AbortSignal.timeout(15_000) }), 'docs', (await keyring(x))!.keys)
      expect(await rejection(asked)).toMatchObject({ code: 'ERR_FERRY_NOT_MEMBER' })
    } finally {
      await node.stop()
    }
    expect(await keyIds(x)).not.toContain(rekey.keyId)
  })

  it('a new device with only the recovery phrase and the relay\'s address gets every file and its history back from the relay', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await useRelay(a, r, 'docs', { copyKeyring: false })
    await useRelay(b, r, 'docs', { copyKeyring: false })
    await mkdir(join(a.folder, 'sub'))
    await writeFile(join(a.folder, 'report.txt'), 'version one')
    await writeFile(join(a.folder, 'sub', 'data.bin'), Buffer.alloc(300 * 1024, 7))
    await writeFile(join(b.folder, 'from-b.txt'), 'written on b')
    await lab.start(a)
    await lab.start(b)
    await waitFor('a and b agree on their keys', async () => (await keyIds(a)).length === 2 && JSON.stringify(await keyIds(a)) === JSON.stringify(await keyIds(b)), 60_000)
    // a rekey: the phrase will hold epoch 1; the relay's sealed keyring gives back the two older keys
    const rekey = await json<{ keyId: string }>(a, ['folder', 'rekey', 'docs'])
    await waitFor('b has the new key', async () => currentKey((await keyring(b))!).id === rekey.keyId, 60_000)
    await waitFor('the relay keeps the keyring sealed under the new key', async () => await sealedOnRelay(a, r) === rekey.keyId, 60_000)
    await waitFor('a and b in sync', async () => sameTree(await treeOf(a.folder), await treeOf(b.folder)).valueOf(), 60_000)
    const h1 = await waitUploaded(a)
    await writeFile(join(a.folder, 'report.txt'), 'version two!')
    await waitUploaded(a, h1)
    await waitFor('b has version two', async () => await readFile(join(b.folder, 'report.txt'), 'utf8').catch(() => '') === 'version two!', 60_000)
    await waitUploaded(b)
    const want = await treeOf(a.folder)

    // the phrase, with its warning on stderr
    const backup = await ferry(['--home', a.home, 'folder', 'backup-key', 'docs'])
    expect(backup.code).toBe(0)
    expect(backup.stderr).toMatch(/WARNING: these words ARE the key of folder docs/)
    const phrase = backup.stdout.trim()
    expect(phrase.split(' ')).toHaveLength(25)
    const ring = (await keyring(a))!
    await expectNoKeyIn(r, ring)

    // every device of the folder is gone
    await lab.stop(a)
    await lab.stop(b)
    for (const d of [a, b] as Device[]) {
      await rm(d.home, { recursive: true, force: true })
      await rm(d.folder, { recursive: true, force: true })
    }

    // a brand-new device, trusted by the relay
    const c = await lab.device('c', 'scratch')
    await ferryOk(['--home', r.home, 'device', 'add', c.id, '--name', 'c'])
    const dir = join(lab.dir, 'c', 'docs')
    // a wrong phrase: one line, exit 1, nothing recorded
    const words = phrase.split(' ')
    const bad = await ferry(['--home', c.home, 'recover', [...words.slice(0, 24), 'zoo', 'zoo'].join(' '), dir, '--relay', `${r.addr}/p2p/${r.id}`, '--id', 'docs'])
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/not a recovery phrase/)
    expect(await keyring(c)).toBeUndefined()

    const rec = await json<{ folder: string, devices: string[], keyId: string, keys: number, sealedKeyring: string }>(c, ['recover', phrase, dir, '--relay', `${r.addr}/p2p/${r.id}`, '--id', 'docs'])
    expect(rec.devices.sort()).toEqual([a.id, b.id].sort())
    expect(rec.keyId).toBe(currentKey(ring).id)
    expect(currentKey((await keyring(c))!).id).toBe(currentKey(ring).id)
    expect(rec).toMatchObject({ keys: 3, sealedKeyring: 'opened' })
    expect(await keyIds(c)).toEqual(ring.keys.map(k => k.id).sort())
    await lab.start(c)
    await waitFor('c has every file back byte for byte', async () => sameTree(want, await treeOf(dir)).valueOf(), 120_000)
    expect(await readFile(join(dir, 'report.txt'), 'utf8')).toBe('version two!')
    const revisions = await json<Revision[]>(c, ['revisions', 'docs', 'report.txt'])
    expect(revisions.find(v => v.current)?.size).toBe('version two!'.length)
    expect(revisions.some(v => !v.current && v.size === 'version one'.length && v.sources.some(s => s.kind === 'relay' && s.status === 'available')), JSON.stringify(revisions)).toBe(true)
  })
})
