import type { Config, Role } from '../config/config.ts'

/** Answers "who may do what" from the current config; the daemon swaps it on reload. */
export class Membership {
  private config: Config
  readonly self: string

  constructor (self: string, config: Config) {
    this.self = self
    this.config = config
  }

  update (config: Config): void { this.config = config }

  isTrusted (device: string): boolean {
    return device !== this.self && device in this.config.devices
  }

  role (folder: string, device: string): Role | undefined {
    if (device === this.self) return this.config.folders[folder] === undefined ? undefined : 'owner'
    if (!this.isTrusted(device)) return undefined
    return this.config.folders[folder]?.members[device]
  }

  /** members (any role) may read a folder's records and blocks */
  mayRead (folder: string, device: string): boolean {
    return this.role(folder, device) !== undefined
  }

  /** read-only members' records are not accepted as changes */
  acceptsChangesFrom (folder: string, device: string): boolean {
    const role = this.role(folder, device)
    return role === 'owner' || role === 'read-write'
  }

  /** other devices sharing `folder` with us */
  membersOf (folder: string): string[] {
    return Object.keys(this.config.folders[folder]?.members ?? {}).filter(d => this.isTrusted(d))
  }

  /** replica members (relays) of `folder`: we upload to them, never take changes from them */
  replicasOf (folder: string): string[] {
    return this.membersOf(folder).filter(d => this.role(folder, d) === 'replica')
  }

  foldersSharedWith (device: string): string[] {
    return Object.keys(this.config.folders).filter(f => this.mayRead(f, device))
  }
}
