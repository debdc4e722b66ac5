import type { IncomingMessage, ServerResponse } from 'node:http'

/** the Prometheus text format's content type */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** `GET /metrics`: the text `scrape` returns, or 500 with the reason. */
export function metricsRoute (scrape: () => Promise<string>): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    scrape().then(
      text => { res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' }).end(text) },
      (err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`) }
    )
  }
}
