/** What a relay's `GET /status` answers; its metrics and the CLI read it. */
export interface RelayFolderStatus {
  id: string
  members: string[]
  devices: Record<string, number>
  paths: number
  /** the version of the signed member list in force (absent: none yet; nobody may use the folder) */
  membersVersion?: number
  /** the distinct blocks (and their bytes) the folder's records and history reference (relay/store/folder-usage.ts) */
  storedBlocks?: number
  storedBytes?: number
}
export interface RelayStatus {
  relay: true
  deviceId: string
  listenAddrs: string[]
  /** where the relay answers STUN (`udp <host>:<port>`) and binding requests answered since start; absent: off */
  stun?: { address: string, answered: number }
  /**
   * `relayedToday`: bytes the member sent through relayed connections this UTC day;
   * `relayLimited`: it reached the daily limit (the relay carries nothing more for it today)
   */
  peers: Array<{ id: string, name?: string, connected: boolean, relayedToday: number, relayLimited: boolean }>
  /** what the relay carries between devices per member: bytes per second, bytes per UTC day */
  relayLimits: { rateBytesPerSecond: number, dailyBytes: number }
  folders: RelayFolderStatus[]
  /** storage per device: bytes of the blocks it uploaded first, and its limit (absent: unlimited) */
  quotas: Array<{ device: string, name?: string, usedBytes: number, limitBytes?: number }>
  /** the limit of a device without its own (`ferry relay --quota`); absent: unlimited */
  defaultQuotaBytes?: number
  /** block bytes and blocks stored since this process started */
  receivedBlockBytes: number
  receivedBlocks: number
  /**
   * bytes of upload sessions' record messages (`recs`, `want`, `segs`, `ack` frames, both ways)
   * since this process started: what records cost on the wire, deltas included
   */
  uploadRecordBytes: number
  retentionDays: number
}
