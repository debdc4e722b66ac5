import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { chmod, unlink } from 'node:fs/promises'
import { FerryError } from '../errors.ts'
import { controlSocketPath } from './control-socket.ts'

export type Route = () => Promise<unknown>

/**
 * Local HTTP API of a running daemon, on a unix socket (mode 0600). Routes return JSON-able
 * data; errors become `{ error, code }` with status 500.
 */
export class ControlServer {
  private readonly server: Server
  private readonly socket: string

  constructor (home: string, routes: Record<string, Route>) {
    this.socket = controlSocketPath(home)
    this.server = createServer((req, res) => {
      const route = routes[`${req.method ?? 'GET'} ${req.url ?? '/'}`]
      if (route === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no such endpoint', code: 'ERR_FERRY_NOT_FOUND' }))
        return
      }
      route().then(data => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(data))
      }, (err: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message, code: (err as FerryError).code ?? 'ERR_FERRY_INTERNAL' }))
      })
    })
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
