import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { chmod, unlink } from 'node:fs/promises'
import { FerryError } from '../errors.ts'
import { handleRoute, type Routes } from '../api/router.ts'
import { controlSocketPath } from './control-socket.ts'

export type { Route } from '../api/router.ts'

/**
 * Control API of a running daemon (what the CLI calls), on a unix socket (mode 0600). Routes
 * return JSON-able data; errors become `{ error, code }` (src/api/router.ts).
 */
export class ControlServer {
  private readonly server: Server
  private readonly socket: string

  constructor (home: string, routes: Routes) {
    this.socket = controlSocketPath(home)
    this.server = createServer((req, res) => { void handleRoute(routes, req, res) })
  }

  async start (): Promise<void> {
    if (await socketAnswers(this.socket)) {
      throw new FerryError(`a ferry daemon is already running for ${this.socket}`, 'ERR_FERRY_DAEMON_RUNNING', 'stop it first, or use another --home')
    }
    await unlink(this.socket).catch(() => {}) // stale socket of a killed daemon
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.socket, () => { this.server.off('error', reject); resolve() })
    })
    await chmod(this.socket, 0o600)
  }

  async stop (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
    await unlink(this.socket).catch(() => {})
  }
}

async function socketAnswers (path: string): Promise<boolean> {
  return await new Promise(resolve => {
    const s = connect(path)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
