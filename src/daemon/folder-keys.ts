import type { Stream } from '@libp2p/interface'
import type { Logger } from '@libp2p/logger'
import type { Config } from '../config/config.ts'
import type { Membership } from '../access/membership.ts'
import type { EventSink } from '../events/node-events.ts'
import { KeyringFiles } from '../keys/keyring-file.ts'
import { currentKey, mergeKeyrings, rekeyed, type FolderKey, type FolderKeyring } from '../keys/folder-keyring.ts'
import { AsyncLock } from '../store/async-lock.ts'
import { exchangeKeys, ERR_NOT_MEMBER } from '../../protocols/keys/index.ts'
import { InvalidMessageError, RemoteError, toError } from '../../protocols/wire/errors.ts'
import { FerryError } from '../errors.ts'
import { sealKeyring } from '../keys/sealed-keyring.ts'
import { putSealedKeyring } from '../../protocols/sealed-keyring/index.ts'

export interface FolderKeysComponents {
  home: string
  membership: Membership
  config: () => Config
  openStream: (peer: string) => Promise<Stream>
  /** a /ferry/sealed-keyring/1 stream to a relay */
  openSealedStream: (peer: string) => Promise<Stream>
  isConnected: (peer: string) => boolean
  /** a peer that broke the protocol (a malformed key) */
  hangUp: (peer: string, reason: Error) => void
  events: EventSink
  log: Logger
}

export interface RekeyResult { folder: string, keyId: string, epoch: number, sentTo: string[] }

/**
 * The daemon's side of folder keys: the only writer of the keyring files while it runs (one lock
 * per folder), the server of /ferry/keys/1.0.0, and the client that trades keyrings with every
 * member when it connects, after a reload (share) and after a rekey. Keys go to members only:
 * never to a replica (relay), never to a removed device.
 */
export class FolderKeys {
  private readonly c: FolderKeysComponents
  private readonly files: KeyringFiles
  private readonly locks = new Map<string, AsyncLock>()

  constructor (c: FolderKeysComponents) {
    this.c = c
    this.files = new KeyringFiles(c.home)
  }

  /** `peer` may hold the keys of `folder`: a member of it here other than a replica */
  mayHoldKeys (folder: string, peer: string): boolean {
    if (this.c.config().folders[folder] === undefined) return false
    const role = this.c.membership.role(folder, peer)
    return role !== undefined && role !== 'replica'
  }

  private lock (folder: string): AsyncLock {
    let l = this.locks.get(folder)
    if (l === undefined) this.locks.set(folder, l = new AsyncLock())
    return l
  }

  /**
   * Merges `keys` into the folder's keyring; emits `folder.key` when the current key changed.
   * Keys new here (from `from`) are passed on to the other connected members, so a key reaches
   * every member that is connected to one that has it.
   */
  async merge (folder: string, keys: readonly FolderKey[], from?: string): Promise<FolderKeyring> {
    let grew = false
    const merged = await this.lock(folder).run(async () => {
      const ring = (await this.files.load(folder)) ?? { folderId: folder, keys: [] }
      const merged = mergeKeyrings(ring, keys)
      if (merged.keys.length === ring.keys.length) return ring
      grew = true
      await this.files.save(merged)
      const before = ring.keys.length === 0 ? undefined : currentKey(ring).id
      const now = currentKey(merged)
      if (now.id !== before) this.c.events.emit({ type: 'folder.key', detail: { folder, keyId: now.id, epoch: now.epoch, ...(from === undefined ? {} : { from }) } })
      return merged
    })
    if (grew && from !== undefined) void this.spread(folder, from)
    if (grew) void this.sealToReplicas(folder)
    return merged
  }

  /** the folder's keys as they are now (a joiner's, over /ferry/join/2) */
  async keysOf (folder: string): Promise<FolderKey[]> {
    return [...((await this.files.load(folder))?.keys ?? [])]
  }

  /** server: the asker's keys merged into ours, ours returned; undefined (refused) for a non-member */
  async answer (peer: string, folder: string, keys: FolderKey[]): Promise<FolderKey[] | undefined> {
    if (!this.mayHoldKeys(folder, peer)) {
      this.c.log('keys of %s refused to %s: not a member that holds keys', folder, peer)
      return undefined
    }
    return [...(await this.merge(folder, keys, peer)).keys]
  }

  /** client: trades keyrings of `folder` with `peer`; false when the peer refused or failed */
  async tradeWith (peer: string, folder: string): Promise<boolean> {
    if (!this.mayHoldKeys(folder, peer) || !this.c.isConnected(peer)) return false
    try {
      const ours = (await this.files.load(folder))?.keys ?? []
      const theirs = await exchangeKeys(await this.c.openStream(peer), folder, ours)
      await this.merge(folder, theirs, peer)
      return true
    } catch (err) {
      const e = toError(err)
      if (e instanceof RemoteError && e.code === ERR_NOT_MEMBER) this.c.log('%s has no keys of %s for us: %s', peer, folder, e.message)
      else if (e instanceof InvalidMessageError) this.c.hangUp(peer, e)
      else this.c.log('trading keys of %s with %s failed: %s', folder, peer, e.message)
      return false
    }
  }

  /** a member connected (or the config changed): trade keyrings of every folder it may hold keys of */
  peerReady (peer: string): void {
    for (const folder of this.c.membership.foldersSharedWith(peer)) {
      if (this.c.membership.role(folder, peer) === 'replica') void this.sealToReplicas(folder, peer)
      else void this.tradeWith(peer, folder)
    }
  }

  /**
   * Stores the folder's keyring, sealed under its current key, on its connected relays (or on
   * `only`): opaque to them; what `ferry recover` opens with the recovery phrase to get older keys.
   */
  async sealToReplicas (folder: string, only?: string): Promise<void> {
    const relays = this.c.membership.replicasOf(folder).filter(r => (only === undefined || r === only) && this.c.isConnected(r))
    if (relays.length === 0) return
    const ring = await this.files.load(folder).catch(() => undefined)
    if (ring === undefined || ring.keys.length === 0) return
    const blob = sealKeyring(ring)
    await Promise.all(relays.map(async r => {
      try {
        await putSealedKeyring(await this.c.openSealedStream(r), folder, blob)
      } catch (err) {
        this.c.log('storing the sealed keyring of %s on %s failed: %s', folder, r, toError(err).message)
      }
    }))
  }

  /** trades keyrings of `folder` with every connected member (but `except`); resolves with those that took ours */
  async spread (folder: string, except?: string): Promise<string[]> {
    const peers = this.c.membership.membersOf(folder).filter(p => p !== except && this.mayHoldKeys(folder, p) && this.c.isConnected(p))
    const done = await Promise.all(peers.map(async p => await this.tradeWith(p, folder) ? p : undefined))
    return done.filter((p): p is string => p !== undefined)
  }

  /** `ferry folder rekey`: a new current key (epoch + 1), then spread to the connected members */
  async rekey (folder: string): Promise<RekeyResult> {
    if (this.c.config().folders[folder] === undefined) throw new FerryError(`no folder ${folder}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
    const key = await this.lock(folder).run(async () => {
      const r = rekeyed((await this.files.load(folder)) ?? { folderId: folder, keys: [] })
      await this.files.save(r.ring)
      return r.key
    })
    this.c.events.emit({ type: 'folder.key', detail: { folder, keyId: key.id, epoch: key.epoch } })
    void this.sealToReplicas(folder)
    return { folder, keyId: key.id, epoch: key.epoch, sentTo: await this.spread(folder) }
  }
}
