import { callDaemon, NoDaemonError } from '../control/control-client.ts'
import { FerryError } from '../errors.ts'
import type { VerifyReport } from '../../relay/store/verify.ts'

/** a scrub reads every block: give a running relay time */
const VERIFY_TIMEOUT_MS = 60 * 60 * 1000

/** `ferry relay verify`: asks the running relay to scrub itself, or opens its store directly. */
export async function relayVerifyCommand (home: string): Promise<VerifyReport> {
  try {
    return await callDaemon<VerifyReport>(home, 'POST', '/verify', VERIFY_TIMEOUT_MS)
  } catch (err) {
    if (!(err instanceof NoDaemonError)) throw err
  }
  const { verifyOffline } = await import('../../relay/relay-node.ts')
  return await verifyOffline(home)
}

/** `ferry relay quota set`: one device's storage quota on the running relay (null: the default). */
export async function relayQuotaSetCommand (home: string, device: string, limitBytes: number | null): Promise<{ device: string, usedBytes: number, limitBytes?: number }> {
  try {
    return await callDaemon(home, 'POST', '/quota', undefined, { device, limitBytes })
  } catch (err) {
    if (err instanceof NoDaemonError) throw new FerryError(`no relay is running with home ${home}`, 'ERR_FERRY_NOT_RUNNING', 'start it (`ferry relay`) first; quotas are set on a running relay')
    throw err
  }
}
