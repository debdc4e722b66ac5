import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import { loadConfig } from '../config/config.ts'
import { folderIn } from '../config/config-changes.ts'
import { KeyringFiles } from '../keys/keyring-file.ts'
import { currentKey, rekeyed } from '../keys/folder-keyring.ts'
import { keyToPhrase } from '../keys/recovery-phrase.ts'
import { FerryError } from '../errors.ts'

/** `ferry folder backup-key`: the recovery phrase of the folder's current key */
export interface BackupKeyResult { folder: string, phrase: string, keyId: string, epoch: number, keys: number }

export interface RekeyCommandResult {
  folder: string
  keyId: string
  epoch: number
  /** members that took the new key now (connected ones); others get it when they connect */
  sentTo: string[]
  daemonRunning: boolean
}

async function keyringOf (home: string, folder: string): Promise<NonNullable<Awaited<ReturnType<KeyringFiles['load']>>>> {
  folderIn(await loadConfig(home), folder)
  const ring = await new KeyringFiles(home).load(folder)
  if (ring === undefined || ring.keys.length === 0) throw new FerryError(`folder ${folder} has no key on this device`, 'ERR_FERRY_NO_FOLDER_KEY', 'start the daemon: it gets the key from a member that has one')
  return ring
}

export async function backupKeyCommand (home: string, folder: string): Promise<BackupKeyResult> {
  const ring = await keyringOf(home, folder)
  const key = currentKey(ring)
  return { folder, phrase: keyToPhrase(key), keyId: key.id, epoch: key.epoch, keys: ring.keys.length }
}

/**
 * `ferry folder rekey`: a new current key (one epoch above every key the folder has). The running
 * daemon makes it (it is the keyrings' only writer while it runs) and trades keyrings with every
 * connected member at once; a removed member is no member, so it never gets the new key. Without
 * a daemon the key is made here and spread when the daemon next meets the members.
 */
export async function rekeyCommand (home: string, folder: string): Promise<RekeyCommandResult> {
  await keyringOf(home, folder)
  try {
    const r = await callDaemon<{ folder: string, keyId: string, epoch: number, sentTo: string[] }>(home, 'POST', '/rekey', 60_000, { folder })
    return { ...r, daemonRunning: true }
  } catch (err) {
    if (!(err instanceof NoDaemonError)) throw err
  }
  const files = new KeyringFiles(home)
  const { ring, key } = rekeyed((await files.load(folder))!)
  await files.save(ring)
  return { folder, keyId: key.id, epoch: key.epoch, sentTo: [], daemonRunning: false }
}
