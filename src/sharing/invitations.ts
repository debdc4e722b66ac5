import { readFile } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { writeFileAtomic } from '../config/atomic-write.ts'
import { FerryError } from '../errors.ts'
import { AsyncLock } from '../store/async-lock.ts'
import { SECRET_BYTES, type JoinRole } from '../../protocols/join/index.ts'

/** Pending and used invitations of this device (0600): secret hashes only, never secrets. */
export const INVITATIONS_FILE = 'invitations.json'
export const DEFAULT_INVITATION_TTL_MS = 24 * 60 * 60 * 1000
/** how long after an invitation is used or expires a joiner is still let in to be told so */
export const DEFAULT_REFUSAL_GRACE_MS = 60 * 60 * 1000

export interface Invitation {
  folder: string
  /** hex sha256 of the secret */
  secretHash: string
  role: JoinRole
  createdAt: number
  expiresAt: number
  /** set once: the device that used it, and when */
  usedBy?: string
  usedAt?: number
}

export class InvitationError extends FerryError {}

function hashSecret (secret: Uint8Array): string {
  return createHash('sha256').update(secret).digest('hex')
}

/**
 * The invitation book of a daemon: the only writer of `<home>/invitations.json` (the CLI asks
 * the daemon to invite). Used invitations stay until they expire, so a second use gets "already
 * used" rather than "unknown"; expired ones are dropped a day after expiry.
 */
export class Invitations {
  private readonly file: string
  private readonly lock = new AsyncLock()
  private list: Invitation[] = []

  constructor (home: string) {
    this.file = join(home, INVITATIONS_FILE)
  }

  async load (): Promise<void> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as { invitations?: Invitation[] }
      this.list = Array.isArray(parsed.invitations) ? parsed.invitations : []
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new FerryError(`${this.file} is not valid: ${(err as Error).message}`, 'ERR_FERRY_BAD_CONFIG')
      this.list = []
    }
  }

  private async save (now: number): Promise<void> {
    this.list = this.list.filter(i => i.expiresAt + DEFAULT_INVITATION_TTL_MS > now)
    await writeFileAtomic(this.file, JSON.stringify({ invitations: this.list }, null, 2) + '\n', 0o600)
  }

  /**
   * True while some invitation can still be used, or was used or expired less than
   * `graceMs` ago (so a late joiner hears why it is refused): strangers may then open the join
   * protocol.
   */
  admitsJoins (now = Date.now(), graceMs = DEFAULT_REFUSAL_GRACE_MS): boolean {
    return this.list.some(i => Math.min(i.usedAt ?? Infinity, i.expiresAt) + graceMs > now)
  }

  /** when the last pending invitation expires (0: none is pending) */
  openUntil (now = Date.now()): number {
    return Math.max(0, ...this.pending(now).map(i => i.expiresAt))
  }

  pending (now = Date.now()): Invitation[] {
    return this.list.filter(i => i.usedAt === undefined && i.expiresAt > now)
  }

  async create (folder: string, role: JoinRole, ttlMs = DEFAULT_INVITATION_TTL_MS): Promise<{ secret: Uint8Array, invitation: Invitation }> {
    return await this.lock.run(async () => {
      const secret = new Uint8Array(randomBytes(SECRET_BYTES))
      const now = Date.now()
      const invitation: Invitation = { folder, secretHash: hashSecret(secret), role, createdAt: now, expiresAt: now + ttlMs }
      this.list.push(invitation)
      await this.save(now)
      return { secret, invitation }
    })
  }

  /**
   * Uses up the invitation `secret` opens, for `device`: one-time. `record` runs after the
   * invitation is marked used and saved (a crash in between loses the invitation, never grants
   * it twice); if it throws, the invitation stays used.
   */
  async redeem (folder: string, secret: Uint8Array, device: string, record: (inv: Invitation) => Promise<void>): Promise<Invitation> {
    return await this.lock.run(async () => {
      const now = Date.now()
      const hash = hashSecret(secret)
      const inv = this.list.find(i => i.folder === folder && i.secretHash === hash)
      if (inv === undefined) throw new InvitationError(`no invitation to folder ${folder} matches this code`, 'ERR_FERRY_INVITE_UNKNOWN', 'ask for a new code')
      if (inv.usedAt !== undefined) throw new InvitationError(`this invitation to folder ${folder} was already used`, 'ERR_FERRY_INVITE_USED', 'a code works once: ask for a new one')
      if (inv.expiresAt <= now) throw new InvitationError(`this invitation to folder ${folder} expired at ${new Date(inv.expiresAt).toISOString()}`, 'ERR_FERRY_INVITE_EXPIRED', 'ask for a new code')
      inv.usedBy = device
      inv.usedAt = now
      await this.save(now)
      await record(inv)
      return inv
    })
  }
}
