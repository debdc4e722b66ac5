import { callDaemon, NoDaemonError } from '../control/control-client.ts'

/** Tells a running daemon to pick up a changed config.json; false when none runs. */
export async function reloadDaemon (home: string): Promise<boolean> {
  try {
    await callDaemon(home, 'POST', '/reload')
    return true
  } catch (err) {
    if (err instanceof NoDaemonError) return false
    throw err
  }
}
