import { mkdir } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { loadConfig, validateFolderId } from '../config/config.ts'
import { addFolder, defaultDeviceName, shareFolder, trustDevice, updateConfig } from '../config/config-changes.ts'
import { checkNewFolder } from '../config/folder-path-check.ts'
import { deviceIdOf, loadDeviceKey } from '../identity/device-key.ts'
import { createNode } from '../node/create-node.ts'
import { initFolderRoot } from '../sync/folder-health.ts'
import { openSignedRecord } from '../log/signed-record.ts'
import { KeyringFiles } from '../keys/keyring-file.ts'
import { phraseToKey } from '../keys/recovery-phrase.ts'
import { INDEX_PROTOCOLS, subscribeIndex } from '../../protocols/index/index.ts'
import { getSealedKeyring, SEALED_KEYRING_PROTOCOL_V1 } from '../../protocols/sealed-keyring/index.ts'
import { openSealedKeyring, sealedUnder } from '../keys/sealed-keyring.ts'
import type { FolderKey } from '../keys/folder-keyring.ts'
import { RemoteError, toError } from '../../protocols/wire/errors.ts'
import { MembersClient, MEMBERS_PROTOCOLS } from '../../protocols/members/index.ts'
import { RECOVERY_SIGNER, signMemberList } from '../access/member-list.ts'
import { recoveryIdentity } from '../keys/recovery-identity.ts'
import type { Libp2p } from '@libp2p/interface'
import { FerryError } from '../errors.ts'
import { reloadDaemon } from './reload-daemon.ts'

export const DEFAULT_RECOVER_DIAL_TIMEOUT_MS = 15_000
/** how long the relay gets to list everything it holds of the folder */
export const DEFAULT_RECOVER_LIST_TIMEOUT_MS = 120_000

export interface RecoverResult {
  folder: string
  path: string
  relay: string
  /** the devices whose changes the relay holds: trusted again, members of the folder */
  devices: string[]
  keyId: string
  epoch: number
  /** keys recovered: the phrase's, and the older ones of the relay's sealed keyring */
  keys: number
  /** the relay's sealed keyring: opened with the phrase, none kept, or sealed under another key (a phrase from before a rekey) */
  sealedKeyring: 'opened' | 'none' | 'other-key'
  daemonReloaded: boolean
}

/** `<multiaddr>/p2p/<id>` split into the relay's id and its address without the id */
function relayAddress (addr: string): { id: string, addr: string } {
  let ma
  try { ma = multiaddr(addr) } catch { throw new FerryError(`invalid multiaddr ${JSON.stringify(addr)}`, 'ERR_FERRY_BAD_ADDR', 'e.g. /ip4/203.0.113.5/tcp/4001/p2p/12D3KooW...') }
  const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
  if (id === undefined) throw new FerryError(`the relay address ${addr} names no relay (/p2p/<id> at its end)`, 'ERR_FERRY_BAD_ADDR', '`ferry --home <relay home> id` prints the relay\'s id')
  try { peerIdFromString(id) } catch { throw new FerryError(`${id} is not a device id`, 'ERR_FERRY_BAD_ADDR') }
  return { id, addr: addr.slice(0, addr.lastIndexOf(`/p2p/${id}`)) }
}

/**
 * The devices whose records the relay holds of `folder` (each record's signature checked): asked
 * over /ferry/index/2 with a short-lived node of this device's key, up to the relay's `synced`;
 * and the folder's sealed keyring the relay keeps (/ferry/sealed-keyring/1; null: none).
 */
/**
 * Makes this device a writer of the folder's member list on the relay, signed by the folder's
 * recovery identity (derived from the phrase's key: the relay holds its public key in the list
 * the lost devices sent). A relay from before member lists (no /ferry/members) lets every device
 * it trusts in, so nothing is sent to it.
 */
async function joinWithRecoveryKey (node: Libp2p, relayId: string, folder: string, self: string, folderKey: Uint8Array): Promise<void> {
  const stream = await node.dialProtocol(peerIdFromString(relayId), [...MEMBERS_PROTOCOLS], { signal: AbortSignal.timeout(DEFAULT_RECOVER_DIAL_TIMEOUT_MS) }).catch(() => undefined)
  if (stream === undefined) return
  const identity = await recoveryIdentity(folderKey)
  const client = new MembersClient(stream)
  try {
    // a version no list of the lost devices reached (theirs count up from 1)
    const list = { folder, version: Date.now(), members: { [self]: 'write' as const }, recoveryKey: identity.privateKey.publicKey.raw }
    await client.put(await signMemberList(list, identity.privateKey, RECOVERY_SIGNER))
    await client.close()
  } catch (err) {
    client.abort(toError(err))
    if (err instanceof RemoteError) {
      throw new FerryError(`the relay did not take the recovery phrase for folder ${folder}: ${err.message.replace(/^.*?peer refused: /, '')}`, err.code, 'use the phrase of the folder\'s current key (`ferry folder backup-key` again after every rekey)')
    }
    throw err
  }
}

async function askRelay (key: PrivateKey, relay: { id: string, addr: string }, folder: string, folderKey: Uint8Array): Promise<{ authors: string[], sealed: Uint8Array | null }> {
  const node = await createNode({ privateKey: key, listen: [], isTrusted: id => id === relay.id, mdns: false, abortOnPingFailure: false })
  const authors = new Set<string>()
  try {
    await node.start()
    try {
      await node.dial(multiaddr(`${relay.addr}/p2p/${relay.id}`), { signal: AbortSignal.timeout(DEFAULT_RECOVER_DIAL_TIMEOUT_MS) })
    } catch (err) {
      throw new FerryError(`could not reach the relay at ${relay.addr}: ${toError(err).message}`, 'ERR_FERRY_UNREACHABLE', `the relay must run and trust this device: \`ferry --home <relay home> device add ${deviceIdOf(key)}\``)
    }
    await joinWithRecoveryKey(node, relay.id, folder, deviceIdOf(key), folderKey)
    const stream = await node.dialProtocol(peerIdFromString(relay.id), [...INDEX_PROTOCOLS], { signal: AbortSignal.timeout(DEFAULT_RECOVER_DIAL_TIMEOUT_MS) }).catch(err => {
      throw new FerryError(`the relay did not let this device in (${toError(err).message})`, 'ERR_FERRY_NOT_TRUSTED', `on the relay: \`ferry --home <relay home> device add ${deviceIdOf(key)}\``)
    })
    const synced = new AbortController()
    const listing = subscribeIndex(stream, folder, {}, {
      onRecords: async pairs => {
        for (const [bytes, signature] of pairs) {
          const s = await openSignedRecord(bytes, signature)
          if (s.record.folder !== folder) throw new FerryError(`the relay sent a record of folder ${s.record.folder} for ${folder}`, 'ERR_FERRY_FORGED_RECORD')
          authors.add(s.record.device)
        }
      },
      onSynced: () => { synced.abort() }
    })
    const timeout = AbortSignal.timeout(DEFAULT_RECOVER_LIST_TIMEOUT_MS)
    await Promise.race([
      listing.then(() => { throw new FerryError('the relay ended the listing early', 'ERR_FERRY_TRUNCATED') }),
      new Promise<void>((resolve, reject) => {
        synced.signal.addEventListener('abort', () => { resolve() })
        timeout.addEventListener('abort', () => { reject(new FerryError('the relay did not list the folder in time', 'ERR_FERRY_TIMEOUT')) })
      })
    ]).catch(err => {
      if (err instanceof RemoteError) throw new FerryError(`the relay refused folder ${folder}: ${err.message.replace(/^.*?peer refused: /, '')}`, err.code, 'check the folder id (`--id`)')
      throw err
    })
    stream.abort(new Error('listing done'))
    listing.catch(() => {})
    // a relay from before sealed keyrings: the phrase's key alone
    const sealed = await node.dialProtocol(peerIdFromString(relay.id), SEALED_KEYRING_PROTOCOL_V1, { signal: AbortSignal.timeout(DEFAULT_RECOVER_DIAL_TIMEOUT_MS) })
      .then(async s => await getSealedKeyring(s, folder), () => null)
    return { authors: [...authors].sort(), sealed }
  } finally {
    await node.stop()
  }
}

/**
 * `ferry recover <phrase> <dir> --relay <addr>/p2p/<id> --id <folder>`: a device that has nothing
 * but the recovery phrase (every device of the folder is gone) gets it back from the relay. The
 * phrase gives the folder key; the relay (which must trust this device) tells whose changes it
 * holds; then the folder is added at `dir` with the key, the relay as its replica and those
 * devices as members, and a running daemon syncs it all back (history stays on the relay:
 * `ferry revisions` lists it).
 */
export async function recoverCommand (home: string, phrase: string, dir: string, options: { relay: string, id: string }): Promise<RecoverResult> {
  const folderKey = phraseToKey(phrase)
  validateFolderId(options.id)
  const relay = relayAddress(options.relay)
  const key = await loadDeviceKey(home)
  const self = deviceIdOf(key)
  if (relay.id === self) throw new FerryError('that is this device\'s own id', 'ERR_FERRY_SELF')
  await mkdir(dir, { recursive: true })
  await checkNewFolder(await loadConfig(home), options.id, dir, home)
  const asked = await askRelay(key, relay, options.id, folderKey.key)
  const devices = asked.authors.filter(d => d !== self && d !== relay.id)
  const keys: FolderKey[] = [folderKey]
  const sealedKeyring = asked.sealed === null ? 'none' : sealedUnder(asked.sealed) === folderKey.id ? 'opened' : 'other-key'
  if (sealedKeyring === 'opened') keys.push(...openSealedKeyring(asked.sealed!, options.id, [folderKey]))
  // the keys first: a folder in the config without them would make a new one
  const ring = await new KeyringFiles(home).add(options.id, keys)
  const path = await updateConfig(home, async config => {
    const real = await checkNewFolder(config, options.id, dir, home)
    const fsid = await initFolderRoot(real, options.id)
    addFolder(config, options.id, { path: real, fsid })
    trustDevice(config, { self, device: relay.id, addrs: relay.addr === '' ? [] : [relay.addr] })
    shareFolder(config, { folder: options.id, device: relay.id, readOnly: false, replica: true })
    for (const d of devices) {
      trustDevice(config, { self, device: d, addrs: [], ...(config.devices[d]?.name === undefined ? { name: defaultDeviceName(d) } : {}) })
      shareFolder(config, { folder: options.id, device: d, readOnly: false })
    }
    return real
  })
  const daemonReloaded = await reloadDaemon(home)
  return { folder: options.id, path, relay: relay.id, devices, keyId: folderKey.id, epoch: folderKey.epoch, keys: ring.keys.length, sealedKeyring, daemonReloaded }
}
