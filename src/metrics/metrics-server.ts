import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { FerryError } from '../errors.ts'
import { metricsRoute } from './metrics-route.ts'

export interface MetricsListen { host: string, port: number }

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/**
 * `--metrics-listen [HOST:]PORT` -> where to serve; loopback only (the endpoint has no token),
 * `127.0.0.1` when no host is given. Throws a FerryError naming the problem otherwise.
 */
export function parseMetricsListen (v: string): MetricsListen {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[^:[\]]+)?:)?(\d{1,5})$/.exec(v.trim())
  const port = m === null ? NaN : Number(m[2])
  if (m === null || port > 65535) throw new FerryError(`--metrics-listen takes [HOST:]PORT, like 127.0.0.1:9464, not ${JSON.stringify(v)}`, 'ERR_FERRY_USAGE')
  const host = (m[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1')
  if (!LOOPBACK.has(host)) throw new FerryError(`--metrics-listen serves without a token, so on loopback only (127.0.0.1, ::1 or localhost), not ${JSON.stringify(host)}`, 'ERR_FERRY_USAGE')
  return { host, port }
}

/** A loopback HTTP server with one route, `GET /metrics` (no token: loopback only). */
export class MetricsServer {
  private readonly server: Server
  private readonly listen: MetricsListen

  constructor (listen: MetricsListen, scrape: () => Promise<string>) {
    if (!LOOPBACK.has(listen.host)) throw new FerryError(`metrics are served on loopback only, not ${listen.host}`, 'ERR_FERRY_USAGE')
    this.listen = listen
    const route = metricsRoute(scrape)
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname
      if (req.method === 'GET' && path === '/metrics') route(req, res)
      else res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('only GET /metrics here\n')
    })
  }

  /** Listens; resolves with the URL of the metrics (the port chosen if 0 was asked). */
  async start (): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(err.code === 'EADDRINUSE' ? new FerryError(`metrics port ${this.listen.port} is in use`, 'ERR_FERRY_METRICS_PORT_IN_USE', 'pick another with --metrics-listen') : err)
      }
      this.server.once('error', onError)
      this.server.listen(this.listen.port, this.listen.host, () => { this.server.off('error', onError); resolve() })
    })
    const a = this.server.address() as AddressInfo
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`
  }

  async stop (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}
