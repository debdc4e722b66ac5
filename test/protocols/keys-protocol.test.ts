import { describe, expect, it, beforeEach, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { streamPair } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import { serveKeys, exchangeKeys, KEYS_PROTOCOL_V1, ERR_NOT_MEMBER } from '../../protocols/keys/index.ts'
import { InvalidMessageError, RemoteError } from '../../protocols/wire/errors.ts'
import { MessageStream } from '../../protocols/wire/message-stream.ts'
import { Membership } from '../../src/access/membership.ts'
import type { Config } from '../../src/config/config.ts'
import { FolderKeys } from '../../src/daemon/folder-keys.ts'
import { KeyringFiles } from '../../src/keys/keyring-file.ts'
import { currentKey, newFolderKey, type FolderKey } from '../../src/keys/folder-keyring.ts'
import { NodeEvents } from '../../src/events/node-events.ts'
import { rejection } from '../helpers/async-checks.ts'

const SELF = '12D3KooWSelf'
const MEMBER = '12D3KooWMember'
const RELAY = '12D3KooWRelay'
const REMOVED = '12D3KooWRemoved'
const log = logger('test')

describe('/ferry/keys/1.0.0', () => {
  let home: string
  let keys: FolderKeys
  let events: NodeEvents
  let ours: FolderKey

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'ferry-keys-'))
    const config: Config = {
      version: 1,
      devices: { [MEMBER]: { addrs: [] }, [RELAY]: { addrs: [] }, [REMOVED]: { addrs: [] } },
      // REMOVED is trusted (it shares other folders) but no member of docs any more
      folders: { docs: { path: '/x', members: { [SELF]: 'owner', [MEMBER]: 'read-write', [RELAY]: 'replica' } } }
    }
    events = new NodeEvents()
    keys = new FolderKeys({ home, membership: new Membership(SELF, config), config: () => config, openStream: async () => { throw new Error('unused') }, openSealedStream: async () => { throw new Error('unused') }, isConnected: () => true, hangUp: () => {}, events, log })
    ours = newFolderKey()
    await new KeyringFiles(home).save({ folderId: 'docs', keys: [ours] })
  })
  afterEach(async () => { await rm(home, { recursive: true, force: true }) })

  async function ask (peer: string, folder: string, mine: FolderKey[]): Promise<FolderKey[]> {
    const [c, s] = await streamPair()
    const served = serveKeys(s, peer, { keys: { exchange: async (p, f, k) => await keys.answer(p, f, k) }, log })
    try {
      return await exchangeKeys(c, folder, mine)
    } finally {
      await served
    }
  }

  it('a member and this device end with one keyring and the same current key; a new current key is an event', async () => {
    const theirs = newFolderKey()
    const seen: Array<{ keyId: string, from?: string }> = []
    events.on('folder.key', d => { seen.push(d) })
    const answer = await ask(MEMBER, 'docs', [theirs])
    const stored = (await new KeyringFiles(home).load('docs'))!
    expect(answer.map(k => k.id).sort()).toEqual([ours.id, theirs.id].sort())
    expect(stored.keys.map(k => k.id).sort()).toEqual([ours.id, theirs.id].sort())
    const current = currentKey(stored)
    expect(currentKey({ folderId: 'docs', keys: answer }).id).toBe(current.id)
    // the event only when the merge changed the current key
    expect(seen).toEqual(current.id === ours.id ? [] : [{ folder: 'docs', keyId: current.id, epoch: 0, from: MEMBER }])
  })

  it('a replica (relay), a removed device and an unknown folder are refused with ERR_FERRY_NOT_MEMBER, and nothing of theirs is kept', async () => {
    for (const [peer, folder] of [[RELAY, 'docs'], [REMOVED, 'docs'], [MEMBER, 'other']] as const) {
      const err = await rejection(ask(peer, folder, [newFolderKey(5)]))
      expect(err).toBeInstanceOf(RemoteError)
      expect((err as RemoteError).code).toBe(ERR_NOT_MEMBER)
    }
    expect((await new KeyringFiles(home).load('docs'))!.keys.map(k => k.id)).toEqual([ours.id])
  })

  it('a key that does not match its id is an invalid message (the peer is cut off), never stored', async () => {
    const forged = { ...newFolderKey(9), id: ours.id.replace(/^./, c => c === '0' ? '1' : '0') }
    const [c, s] = await streamPair()
    const served = serveKeys(s, MEMBER, { keys: { exchange: async (p, f, k) => await keys.answer(p, f, k) }, log })
    const ms = new MessageStream(c, KEYS_PROTOCOL_V1, { maxMessageBytes: 1 << 20 })
    await ms.write(['keys', 'docs', [[forged.id, forged.key, forged.epoch, forged.createdAtMs]]])
    await expect(ms.read({ signal: AbortSignal.timeout(5000) })).rejects.toThrow()
    await served
    expect((await new KeyringFiles(home).load('docs'))!.keys.map(k => k.id)).toEqual([ours.id])
    // and the client side refuses such an answer the same way
    const [c2, s2] = await streamPair()
    const answering = (async () => {
      const m = new MessageStream(s2, KEYS_PROTOCOL_V1, { maxMessageBytes: 1 << 20 })
      await m.read()
      await m.write(['keys', 'docs', [[forged.id, forged.key, forged.epoch, forged.createdAtMs]]])
      await m.close()
    })()
    expect(await rejection(exchangeKeys(c2, 'docs', [ours]))).toBeInstanceOf(InvalidMessageError)
    await answering.catch(() => {})
  })
})
