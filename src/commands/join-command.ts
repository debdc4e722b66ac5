import { peerIdFromString } from '@libp2p/peer-id'
import { loadConfig, validateFolderId } from '../config/config.ts'
import { recordJoin, updateConfig } from '../config/config-changes.ts'
import { deviceIdOf, loadDeviceKey } from '../identity/device-key.ts'
import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import type { DaemonStatus } from '../daemon/status-types.ts'
import { createNode } from '../node/create-node.ts'
import { reloadDaemon } from './reload-daemon.ts'
import { validateDeviceName } from '../text/printable.ts'
import { checkNewFolder } from '../config/folder-path-check.ts'
import { FerryError } from '../errors.ts'
import { initFolderRoot } from '../sync/folder-health.ts'
import { RemoteError, toError } from '../../protocols/wire/errors.ts'
import { JOIN_PROTOCOLS, requestJoinWithKeys, type JoinRole } from '../../protocols/join/index.ts'
import type { FolderKey } from '../keys/folder-keyring.ts'
import { KeyringFiles } from '../keys/keyring-file.ts'
import { decodePairingCode } from '../sharing/pairing-code.ts'
import { DEFAULT_JOIN_DIAL_TIMEOUT_MS, joinRoutes, reachInviter } from './join-dial.ts'


export interface JoinResult { folder: string, path: string, inviter: string, role: JoinRole, daemonReloaded: boolean }

const HINTS: Record<string, string> = {
  ERR_FERRY_INVITE_USED: 'a code works once: ask for a new one',
  ERR_FERRY_INVITE_EXPIRED: 'ask for a new code',
  ERR_FERRY_INVITE_UNKNOWN: 'ask for a new code'
}

/**
 * `ferry join <code> <path>`: reaches the inviting device with this device's key (a short-lived
 * node of its own, so it works whether or not the daemon runs), proves the code's secret over
 * /ferry/join/1, then records the inviter as a trusted device and the folder at `path`. A
 * running daemon is told to reload (and then connects by itself).
 */
export async function joinCommand (home: string, codeText: string, path: string, options: { name?: string } = {}): Promise<JoinResult> {
  if (options.name !== undefined) validateDeviceName(options.name)
  const code = decodePairingCode(codeText)
  const key = await loadDeviceKey(home)
  const self = deviceIdOf(key)
  if (code.device === self) throw new FerryError('this code was made by this device', 'ERR_FERRY_SELF', 'run `ferry join` on the other device')
  validateFolderId(code.folder)
  await checkNewFolder(await loadConfig(home), code.folder, path, home)
  const routes = joinRoutes(code)
  if (routes.direct.length + routes.relayed.length === 0) throw new FerryError('the code carries no address of the inviting device', 'ERR_FERRY_BAD_CODE', 'the inviter\'s daemon must run when it invites')

  // if our daemon runs, the inviter learns where to reach it
  let ourAddrs: string[] = []
  try {
    ourAddrs = (await callDaemon<DaemonStatus>(home, 'GET', '/status')).listenAddrs
  } catch (err) {
    if (!(err instanceof NoDaemonError)) throw err
  }

  // the inviter answers nothing but the join protocol (not ping) until we are a member; a relay
  // on the way answers nothing but the circuit to it
  const node = await createNode({ privateKey: key, listen: [], isTrusted: id => id === code.device || routes.relays.includes(id), mdns: false, abortOnPingFailure: false })
  let role: JoinRole
  let keys: FolderKey[] = []
  try {
    await node.start()
    const inviter = peerIdFromString(code.device)
    await reachInviter(node, routes)
    let stream
    try {
      // a circuit through a relay may be limited: the join exchange is small
      stream = await node.dialProtocol(inviter, [...JOIN_PROTOCOLS], { signal: AbortSignal.timeout(DEFAULT_JOIN_DIAL_TIMEOUT_MS), runOnLimitedConnection: true })
    } catch (err) {
      // the inviter's gater lets strangers in only around a live invitation
      throw new FerryError(`the inviting device did not let this device in (${toError(err).message}): the code was used or expired a while ago`, 'ERR_FERRY_JOIN_REFUSED', 'ask for a new code')
    }
    try {
      ({ role, keys } = await requestJoinWithKeys(stream, { folder: code.folder, secret: code.secret, addrs: ourAddrs.map(a => a.replace(/\/p2p\/[^/]+$/, '')) }))
    } catch (err) {
      if (err instanceof RemoteError) {
        // the inviter's one-line reason, without the protocol prefix
        throw new FerryError(err.message.replace(/^.*?peer refused: /, ''), err.code, HINTS[err.code])
      }
      throw err
    }
  } finally {
    await node.stop()
  }

  // the folder's keys before the folder: a daemon that starts it finds them (an older inviter sends none: members trade them later)
  if (keys.length > 0) await new KeyringFiles(home).add(code.folder, keys)
  // the folder id and path were checked before the secret was spent; check again, then record
  const abs = await updateConfig(home, async config => {
    const abs = await checkNewFolder(config, code.folder, path, home)
    const fsid = await initFolderRoot(abs, code.folder)
    recordJoin(config, { folder: code.folder, path: abs, fsid, inviter: code.device, inviterAddrs: code.addrs, role, ...(options.name === undefined ? {} : { name: options.name }) })
    return abs
  })
  const daemonReloaded = await reloadDaemon(home)
  return { folder: code.folder, path: abs, inviter: code.device, role, daemonReloaded }
}
