import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { FerryError } from '../errors.ts'
import { handleRoute, sendJson, type Routes } from './router.ts'
import { loadOrCreateToken, removeApiInfo, writeApiInfo } from './api-token.ts'

/** Loopback only: the API is for this machine's user (and the token keeps other users out). */
export const API_HOST = '127.0.0.1'

/** A handler that keeps the response open (server-sent events). */
export type StreamRoute = (req: IncomingMessage, res: ServerResponse) => void

export interface HttpApiOptions {
  home: string
  /** 0: any free port; the chosen one is written to `<home>/api.json` */
  port: number
  routes: Routes
  streams?: Record<string, StreamRoute>
}

/**
 * The daemon's local HTTP API on 127.0.0.1: every request needs `Authorization: Bearer <token>`
 * (`<home>/api-token`, 0600), else 401. JSON routes are the control API's table; streams (SSE)
 * are separate because they never end.
 */
export class HttpApi {
  private readonly opts: HttpApiOptions
  private readonly server: Server
  private tokenDigest?: Buffer
  private boundPort = 0

  constructor (opts: HttpApiOptions) {
    this.opts = opts
    this.server = createServer((req, res) => { this.handle(req, res) })
  }

  get port (): number { return this.boundPort }

  async start (): Promise<void> {
    const token = await loadOrCreateToken(this.opts.home)
    this.tokenDigest = digest(`Bearer ${token}`)
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(err.code === 'EADDRINUSE'
          ? new FerryError(`API port ${this.opts.port} is in use`, 'ERR_FERRY_API_PORT_IN_USE', 'pick another with --api-port, or 0 for any')
          : err)
      }
      this.server.once('error', onError)
      this.server.listen(this.opts.port, API_HOST, () => { this.server.off('error', onError); resolve() })
    })
    this.boundPort = (this.server.address() as AddressInfo).port
    await writeApiInfo(this.opts.home, { url: `http://${API_HOST}:${this.boundPort}`, port: this.boundPort, token, pid: process.pid })
  }

  async stop (): Promise<void> {
    await removeApiInfo(this.opts.home)
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private authorized (req: IncomingMessage): boolean {
    const given = req.headers.authorization
    return given !== undefined && this.tokenDigest !== undefined && timingSafeEqual(digest(given), this.tokenDigest)
  }

  private handle (req: IncomingMessage, res: ServerResponse): void {
    if (!this.authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer realm="ferry"')
      sendJson(res, 401, { error: 'missing or wrong bearer token', code: 'ERR_FERRY_UNAUTHORIZED' })
      return
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const stream = this.opts.streams?.[`${req.method ?? 'GET'} ${path}`]
    if (stream !== undefined) stream(req, res)
    else void handleRoute(this.opts.routes, req, res)
  }
}

/** Equal-length digests, so the comparison takes the same time whatever was sent. */
function digest (s: string): Buffer {
  return createHash('sha256').update(s).digest()
}
