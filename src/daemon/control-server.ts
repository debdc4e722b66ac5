import { createServer, type IncomingMessage, type Server } from 'node:http'
import { connect } from 'node:net'
import { chmod, unlink } from 'node:fs/promises'
import { FerryError } from '../errors.ts'
import { controlSocketPath } from './control-socket.ts'

/** What a route gets of the request: the query string and, for POST, the JSON body. */
export interface RouteRequest { query: URLSearchParams, body: unknown }
export type Route = (req: RouteRequest) => Promise<unknown>

/** Request bodies are small JSON objects (a path, a version id). */
const MAX_BODY_BYTES = 64 * 1024

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
      const url = new URL(req.url ?? '/', 'http://daemon')
      const route = routes[`${req.method ?? 'GET'} ${url.pathname}`]
      if (route === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no such endpoint', code: 'ERR_FERRY_NOT_FOUND' }))
        return
      }
      readJsonBody(req).then(async body => await route({ query: url.searchParams, body })).then(data => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(data))
      }, (err: Error) => {
        const e = err as FerryError
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message, code: e.code ?? 'ERR_FERRY_INTERNAL', ...(e.hint === undefined ? {} : { hint: e.hint }) }))
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

async function readJsonBody (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > MAX_BODY_BYTES) throw new FerryError('request body too large', 'ERR_FERRY_BAD_REQUEST')
    chunks.push(chunk)
  }
  if (size === 0) return undefined
  try { return JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch {
    throw new FerryError('request body is not JSON', 'ERR_FERRY_BAD_REQUEST')
  }
}

async function socketAnswers (path: string): Promise<boolean> {
  return await new Promise(resolve => {
    const s = connect(path)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
