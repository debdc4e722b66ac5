import { join } from 'node:path'

/** The daemon's control API listens on a unix socket in --home: only this user can reach it. */
export function controlSocketPath (home: string): string {
  return join(home, 'daemon.sock')
}
