import type { Logger } from '@libp2p/logger'
import { loadConfig, type Config } from '../config/config.ts'
import { admitJoiner, updateConfig } from '../config/config-changes.ts'
import { FerryError } from '../errors.ts'
import type { EventSink } from '../events/node-events.ts'
import type { Routes } from '../api/router.ts'
import type { JoinRequest, JoinRole } from '../../protocols/join/index.ts'
import { Invitations, DEFAULT_INVITATION_TTL_MS } from './invitations.ts'
import { encodePairingCode } from './pairing-code.ts'
import { bodyObject, optionalBoolean, optionalInteger, requiredString } from '../api/body-fields.ts'
import { JoinWindowAnnouncer, type JoinWindowAnnouncerComponents } from './join-window-announcer.ts'

export interface SharingComponents {
  home: string
  self: string
  /** this node's listen addresses (with or without /p2p/<self>) */
  listenAddrs: () => string[]
  /** where invitations made and joins accepted are emitted */
  events: EventSink
  /** the config changed on disk: apply it (the daemon's reload) */
  reload: () => Promise<void>
  log: Logger
  /** a stream to a connected peer (to tell our relays our join window); default: none */
  openStream?: JoinWindowAnnouncerComponents['openStream']
  /** the trusted relays we are connected to now; default: none */
  connectedRelays?: () => string[]
}

export interface InviteResult { code: string, folder: string, role: JoinRole, expiresAt: number }

/** an untrusted connection admitted for a join is closed after this long */
export const DEFAULT_JOIN_WINDOW_MS = 30_000
const MAX_TTL_SECONDS = 30 * 24 * 3600

/**
 * Invitations on the inviting device's daemon: `POST /invitations` makes one (the pairing
 * code), and `/ferry/join/1` redeems it: the joiner becomes a trusted device and a member of
 * that one folder, with the invited role.
 */
export class SharingService {
  private readonly c: SharingComponents
  readonly invitations: Invitations
  private readonly announcer: JoinWindowAnnouncer

  constructor (components: SharingComponents) {
    this.c = components
    this.invitations = new Invitations(components.home)
    this.announcer = new JoinWindowAnnouncer({
      openStream: components.openStream ?? (async () => { throw new FerryError('no node', 'ERR_FERRY_NOT_STARTED') }),
      connectedRelays: () => components.connectedRelays?.() ?? [],
      openUntil: () => this.invitations.openUntil(),
      log: components.log
    })
  }

  /** a trusted peer connected: a relay of ours hears our join window while invitations are about */
  peerConnected (peer: string): void {
    if (this.invitations.admitsJoins() && this.c.connectedRelays?.().includes(peer) === true) void this.announcer.announce(peer)
  }

  async start (): Promise<void> {
    await this.invitations.load()
  }

  /**
   * While an invitation is pending (or was used or expired within the last hour), devices we
   * do not trust may connect, for the join protocol only.
   */
  admitsStrangers (): boolean {
    return this.invitations.admitsJoins()
  }

  routes (): Routes {
    return {
      'POST /invitations': async req => await this.invite(req.body),
      'GET /invitations': async () => this.invitations.pending().map(({ folder, role, createdAt, expiresAt }) => ({ folder, role, createdAt, expiresAt }))
    }
  }

  private async invite (body: unknown): Promise<InviteResult> {
    const b = bodyObject(body)
    const folder = requiredString(b, 'folder', 64)
    const readOnly = optionalBoolean(b, 'readOnly') ?? false
    const ttl = optionalInteger(b, 'ttlSeconds', 1, MAX_TTL_SECONDS) ?? DEFAULT_INVITATION_TTL_MS / 1000
    const config = await loadConfig(this.c.home)
    if (config.folders[folder] === undefined) throw new FerryError(`no folder ${folder}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
    const role: JoinRole = readOnly ? 'read-only' : 'read-write'
    const { secret, invitation } = await this.invitations.create(folder, role, ttl * 1000)
    const addrs = [...new Set(this.c.listenAddrs().map(a => a.replace(/\/p2p\/[^/]+$/, '')))]
    const relay = relayOf(config, folder)
    const code = encodePairingCode({ folder, device: this.c.self, addrs, ...(relay === undefined ? {} : { relay }), secret })
    // our relays let the joiner reach us through them until the invitation expires
    await this.announcer.announceAll()
    this.c.events.emit({ type: 'invitation.created', detail: { folder, role, expiresAt: invitation.expiresAt } })
    return { code, folder, role, expiresAt: invitation.expiresAt }
  }

  /** A `/ferry/join/1` joiner has its answer: the new member is applied (the join service calls this). */
  async joined (): Promise<void> {
    await this.c.reload()
    // the invitation is used: the relays close our window (if no other one is pending)
    void this.announcer.announceAll()
  }

  /**
   * Checks a join request's secret and records the peer as a member; returns its role. Throws
   * a FerryError (with its code) to refuse. The join service calls this.
   */
  async acceptJoin (peer: string, request: JoinRequest): Promise<JoinRole> {
    if (peer === this.c.self) throw new FerryError('a device cannot join itself', 'ERR_FERRY_SELF')
    if ((await loadConfig(this.c.home)).folders[request.folder] === undefined) {
      // not worth burning the invitation for: it names a folder we no longer have
      throw new FerryError(`folder ${request.folder} is not shared from here any more`, 'ERR_FERRY_FOLDER_NOT_FOUND')
    }
    let name: string | undefined
    const inv = await this.invitations.redeem(request.folder, request.secret, peer, async inv => {
      name = (await updateConfig(this.c.home, config => admitJoiner(config, { device: peer, folder: inv.folder, role: inv.role, addrs: request.addrs }))).name
    })
    this.c.events.emit({ type: 'share.accepted', detail: { folder: inv.folder, device: peer, role: inv.role, ...(name === undefined ? {} : { name }) } })
    return inv.role
  }
}

/**
 * A relay joiners can reach us through, as `<addr>/p2p/<relay id>`: a replica member of `folder`
 * (else of any folder) with a configured address.
 */
function relayOf (config: Config, folder: string): string | undefined {
  const replicas = (f: string): string[] => Object.entries(config.folders[f]?.members ?? {}).filter(([, role]) => role === 'replica').map(([id]) => id)
  for (const id of new Set([...replicas(folder), ...Object.keys(config.folders).flatMap(replicas)])) {
    const addr = config.devices[id]?.addrs[0]
    if (addr !== undefined) return `${addr.replace(/\/p2p\/[^/]+$/, '')}/p2p/${id}`
  }
  return undefined
}
