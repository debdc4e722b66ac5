import type { IncomingMessage, ServerResponse } from 'node:http'
import { FerryError } from '../errors.ts'

/** What a route sees of a request: the query string and, for POST, the parsed JSON body. */
export interface ApiRequest {
  query: URLSearchParams
  body: unknown
}

/** A route returns JSON-able data; a thrown FerryError becomes `{ error, code }`. */
export type Route = (req: ApiRequest) => Promise<unknown>

/** `"<METHOD> <pathname>"` -> route; the same table serves the unix socket and the HTTP API. */
export type Routes = Record<string, Route>

export const MAX_BODY_BYTES = 64 * 1024

const NOT_FOUND_CODES = new Set(['ERR_FERRY_NOT_FOUND', 'ERR_FERRY_FOLDER_NOT_FOUND', 'ERR_FERRY_DEVICE_NOT_FOUND'])

export function sendJson (res: ServerResponse, status: number, data: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(data))
}

/** Status for an error a route threw: user errors 4xx, everything else 500. */
function statusOf (err: Error): number {
  if (!(err instanceof FerryError)) return 500
  if (NOT_FOUND_CODES.has(err.code)) return 404
  if (err.code === 'ERR_FERRY_NOT_STARTED' || err.code === 'ERR_FERRY_INTERNAL') return 500
  return 400
}

async function readBody (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > MAX_BODY_BYTES) throw new FerryError(`request body over ${MAX_BODY_BYTES} bytes`, 'ERR_FERRY_BAD_REQUEST')
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new FerryError('request body is not JSON', 'ERR_FERRY_BAD_REQUEST')
  }
}

/** Routes one request on the exact method and path (the query string is passed on). */
export async function handleRoute (routes: Routes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const route = routes[`${req.method ?? 'GET'} ${url.pathname}`]
  if (route === undefined) {
    sendJson(res, 404, { error: 'no such endpoint', code: 'ERR_FERRY_NOT_FOUND' })
    return
  }
  try {
    const body = req.method === 'POST' ? await readBody(req) : undefined
    sendJson(res, 200, await route({ query: url.searchParams, body }))
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e))
    sendJson(res, statusOf(err), { error: err.message, code: (err as Partial<FerryError>).code ?? 'ERR_FERRY_INTERNAL' })
  }
}
