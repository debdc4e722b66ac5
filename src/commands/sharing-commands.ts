import { callDaemon } from '../control/control-client.ts'
import { FerryError } from '../errors.ts'
import type { Role } from '../config/config.ts'
import { removeDevice, shareFolder, unshareFolder, updateConfig } from '../config/config-changes.ts'
import { reloadDaemon } from './reload-daemon.ts'
import type { InviteResult } from '../sharing/sharing-service.ts'
import type { RevertResult } from '../sync/revert.ts'

export async function shareCommand (home: string, folderId: string, deviceId: string, opts: { readOnly: boolean, replica?: boolean }): Promise<{ folder: string, device: string, role: Role }> {
  const r = await updateConfig(home, config => shareFolder(config, { folder: folderId, device: deviceId, ...opts }))
  await reloadDaemon(home)
  return r
}

/** what `ferry unshare` did: `trusted` says whether the device is still trusted (and may share other folders) */
export interface UnshareResult { folder: string, device: string, name?: string, trusted: boolean, otherFolders: string[], daemonReloaded: boolean }

/**
 * Removes a member from a folder (`untrust`: and stops trusting the device, as `ferry device
 * remove`, in the same config write). A running daemon reloads: it hangs up on that device at
 * once (its streams were opened as a member), and from then on serves it nothing of the folder
 * and takes none of its changes; a device still trusted reconnects and is refused the folder
 * ("not a member"), which is how it learns it was removed.
 */
export async function unshareCommand (home: string, folderId: string, deviceId: string, opts: { untrust?: boolean } = {}): Promise<UnshareResult> {
  const r = await updateConfig(home, config => {
    const u = unshareFolder(config, folderId, deviceId)
    const name = config.devices[u.device]?.name
    if (opts.untrust === true && config.devices[u.device] !== undefined) removeDevice(config, u.device)
    const otherFolders = Object.entries(config.folders).filter(([, f]) => f.members[u.device] !== undefined).map(([f]) => f)
    return { ...u, ...(name === undefined ? {} : { name }), trusted: config.devices[u.device] !== undefined, otherFolders }
  })
  const daemonReloaded = await reloadDaemon(home)
  return { ...r, daemonReloaded }
}

/** fetching the shared versions again can take a while */
const REVERT_TIMEOUT_MS = 30 * 60_000

/** `ferry invite <folderId>`: the running daemon makes the invitation (it knows its addresses). */
export async function inviteCommand (home: string, folder: string, options: { readOnly: boolean, ttlSeconds?: number }): Promise<InviteResult> {
  return await callDaemon(home, 'POST', '/invitations', 10_000, { folder, readOnly: options.readOnly, ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }) })
}

/** `ferry revert <folderId>`: the running daemon discards this read-only member's local changes. */
export async function revertCommand (home: string, folder: string): Promise<RevertResult & { folder: string }> {
  const r = await callDaemon<RevertResult & { folder: string }>(home, 'POST', '/revert', REVERT_TIMEOUT_MS, { folder })
  const first = r.failed[0]
  if (first !== undefined) {
    throw new FerryError(`could not revert ${r.failed.length} of ${r.failed.length + r.reverted.length} paths in ${folder}: ${first.path}: ${first.error}`, 'ERR_FERRY_REVERT_INCOMPLETE', 'are the other members connected? try again')
  }
  return r
}
