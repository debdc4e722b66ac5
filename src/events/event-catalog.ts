import type { Role } from '../config/config.ts'
import type { TransferStatus } from '../model/transfer-status.ts'

/**
 * Every event a device daemon or a relay emits, as `{ type, detail }` (the shape of libp2p's
 * and Helia's progress events). Components emit these where things happen and build no human
 * text; subscribers decide what to show: the CLI's log lines (src/cli/event-lines.ts), the
 * public `GET /events` stream (./public-events.ts), the progress view, debug logs, metrics.
 * Details hold data only (ids, paths, counts, reasons), never formatted lines.
 */
export type NodeEvent =
  | FolderEvent
  | FileChangeEvent
  | PeerEvent
  | NodeLifecycleEvent
  | SharingEvent
  | RelayEvent
  | UploadEvent

/** A file being received (src/model/transfer-status.ts). */
export type TransferDetail = TransferStatus

/** What a folder's sync engine emits (FolderSync's `onEvent`). */
export type FolderEvent =
  /** a scan recorded changes */
  | Ev<'folder.scanned', { folder: string, changed: number, files: number, ms: number }>
  /** a peer's version was installed (`action`: the plan's action kind) */
  | Ev<'file.applied', { folder: string, action: string, path: string }>
  /** applying `path` failed; it is retried with a growing delay */
  | Ev<'file.failed', { folder: string, path: string, error: string }>
  /** the local version of `path` lost to `winner`'s and was kept as `conflictPath`; `kept` made it (names: the devices' names in the config, when known) */
  | Ev<'conflict', { folder: string, path: string, conflictPath: string, winner: string, kept: string, winnerName?: string, keptName?: string }>
  /** `path` has a problem of its own (new, or a different one); the rest of the folder syncs on */
  | Ev<'file.error', { folder: string, path: string, code: string, reason: string }>
  | Ev<'file.error.cleared', { folder: string, path: string }>
  /** the folder's file system watcher failed (or could not start): changes are found by the periodic rescans only */
  | Ev<'watcher.failed', { folder: string, root: string, error: string }>
  | GuardEvent

/** Folder health (stopped / resumed) and mass-delete protection (held / confirmed deletes). */
export type GuardEvent =
  | Ev<'folder.stopped', { folder: string, code: string, reason: string }>
  | Ev<'folder.resumed', { folder: string }>
  /** `paths`: the first few of the `count` deletes held */
  | Ev<'deletes.held', { folder: string, count: number, paths: string[], reason: string }>
  | Ev<'deletes.confirmed', { folder: string, count: number }>

/** Our own records changed content (src/events/file-events.ts); `device` made the change. */
export type FileChangeEvent =
  | Ev<'file.added' | 'file.changed' | 'file.deleted', { folder: string, path: string, entry: 'file' | 'dir', size: number, device: string }>
  | Ev<'file.renamed', { folder: string, from: string, path: string, entry: 'file', size: number, device: string }>

/** `name`: the device's name in the config, when it has one. */
export type PeerEvent =
  | Ev<'peer.connected' | 'peer.disconnected', { device: string, name?: string }>
  /** a peer broke the protocol (or sent forged data): its connections are closed */
  | Ev<'peer.cut-off', { device: string, name?: string, reason: string }>

export type NodeLifecycleEvent =
  /** the libp2p node listens on `addr` (one event per address) */
  | Ev<'node.listening', { addr: string }>
  /** the node's own id, once it listens; `kind` says whether it runs as a device or as a relay */
  | Ev<'node.identity', { kind: 'device' | 'relay', id: string }>
  /** config entries that did not pass the checks: the node runs without them */
  | Ev<'config.skipped', { entries: string[] }>
  | Ev<'folder.started', { folder: string, path: string }>
  /** the local HTTP API listens on 127.0.0.1:`port`; `infoFile` says where port and token are */
  | Ev<'api.listening', { port: number, infoFile: string }>
  /** the files being received, every second while the daemon runs (empty when none) */
  | Ev<'transfer.snapshot', { transfers: TransferDetail[] }>
  /** asking a relay for the versions of `path` failed */
  | Ev<'relay-history.failed', { folder: string, path: string, relay: string, error: string }>

export type SharingEvent =
  | Ev<'invitation.created', { folder: string, role: Role, expiresAt: number }>
  /** someone joined a folder with an invitation of ours */
  | Ev<'share.accepted', { folder: string, device: string, role: Role, name?: string }>
  /** `by` (a member) refused us `folder`: it removed this device from the folder */
  | Ev<'folder.unshared', { folder: string, by: string, name?: string }>
  /**
   * the folder's current key (the one new data is sealed with) changed: a keyring merge brought a
   * newer one (`from`: the member it came from) or this device rekeyed (no `from`)
   */
  | Ev<'folder.key', { folder: string, keyId: string, epoch: number, from?: string }>

export type RelayEvent =
  /** the relay's store is open */
  | Ev<'relay.opened', { folders: number, retentionDays: number }>
  /** a stored block failed its hash check: it was moved aside; devices upload it again */
  | Ev<'relay.block.quarantined', { cid: string }>
  /** a folder was first uploaded sealed: what the relay held of it in plaintext is gone */
  | Ev<'relay.folder.sealed', { folder: string, records: number, blocks: number, bytes: number }>
  | Ev<'metrics.listening', { url: string }>
  /** the relay answers STUN binding requests here (`udp <host>:<port>`) */
  | Ev<'stun.listening', { address: string }>
  /** the default STUN port could not be bound: the relay runs without STUN (devices then find no public address through it) */
  | Ev<'stun.unavailable', { reason: string }>
  /**
   * relay: a member reached its daily limit of relayed bytes; its relayed connections end and
   * new ones are refused until the next UTC day. device: a relay refused to carry a connection
   * (its limit is reached)
   */
  | Ev<'relay.limit', { device: string, name?: string, bytesToday?: number, dailyBytes?: number, relay?: string }>
  /** the relay took a folder's signed member list (`signer`: a device id, or "recovery") */
  | Ev<'relay.members', { folder: string, version: number, members: number, signer: string }>
  /**
   * a device told the relay until when it accepts joiners (`untilMs` 0: no more): devices the
   * relay does not trust may then open a circuit to it, and nothing else
   */
  | Ev<'relay.join-window', { device: string, name?: string, untilMs: number }>
  /** the relay refused a block: the uploading member's storage quota is full (nothing stored is touched) */
  | Ev<'relay.quota', { device: string, name?: string, folder: string, usedBytes: number, limitBytes: number }>

/** What a device sent: an upload session to a relay (a replica member) that stored something new there. */
export type UploadEvent =
  | Ev<'replica.uploaded', { folder: string, replica: string, records: number, blockBytes: number }>
  /** a relay refused an upload session (`code`: ERR_FERRY_RELAY_QUOTA for a full quota); the uploader retries with backoff */
  | Ev<'replica.refused', { folder: string, replica: string, code: string, reason: string }>

/** One event: a `type` and its typed `detail`. */
export interface Ev<T extends string, D> { type: T, detail: D }

export type NodeEventType = NodeEvent['type']
/** The event of one type. */
export type NodeEventOf<T extends NodeEventType> = Extract<NodeEvent, { type: T }>
/** The detail of one event type. */
export type DetailOf<T extends NodeEventType> = NodeEventOf<T>['detail']
