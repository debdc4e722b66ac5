import { describe, it, beforeAll, afterAll } from 'vitest'
import fc from 'fast-check'
import { Readable } from 'node:stream'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { logger } from '@libp2p/logger'
import { handleRoute, type Routes } from '../../src/api/router.ts'
import { SharingService } from '../../src/sharing/sharing-service.ts'
import { ReadOnlyFolders } from '../../src/sharing/read-only.ts'
import { historyRoutes } from '../../src/daemon/history-routes.ts'
import { NodeEvents } from '../../src/events/node-events.ts'
import { emptyConfig, saveConfig } from '../../src/config/config.ts'
import { cborValue, mutate, params, report, tally, TIMEOUT_MS } from './fuzz-kit.ts'

/**
 * The control/HTTP API's JSON routes that take input (a body or a query), driven through the
 * real router (`handleRoute`: body reading, JSON parsing, error mapping) with raw request bytes.
 * The daemon's pieces behind them are real (the sharing service on a temp home with a config);
 * no folder is running, so requests that pass the checks end at "no folder" (404). Every answer
 * must be 200, 400 or 404 with an error code: a 500 is a crash on bad input.
 */
let home = ''
let routes: Routes
let sharing: SharingService

async function freshSharing (): Promise<void> {
  await rm(join(home, 'invitations.json'), { force: true })
  sharing = new SharingService({ home, self: '12D3KooWGaSTcfHSkVV1GYYCYpFMhKpCNSd8fnGxoex66LbkQgYe', listenAddrs: () => ['/ip4/127.0.0.1/tcp/4001'], events: new NodeEvents(), reload: async () => {}, log: logger('fuzz') })
  await sharing.start()
  routes = {
    ...sharing.routes(),
    ...new ReadOnlyFolders({ folder: () => undefined, ownRole: () => 'read-only', acceptsChangesFrom: () => false }).routes(),
    ...historyRoutes({ folders: () => new Map(), config: () => emptyConfig(), remoteHistory: async () => ({ relays: [], revisions: [] }) as never })
  }
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'ferry-fuzz-http-'))
  const config = emptyConfig()
  config.folders.docs = { path: join(home, 'docs'), members: {} }
  await saveConfig(home, config)
  await writeFile(join(home, 'invitations.json'), '{"invitations":[]}')
  await freshSharing()
})
afterAll(async () => { await rm(home, { recursive: true, force: true }) })

async function call (method: string, url: string, body: Uint8Array | undefined): Promise<{ status: number, json: { code?: string } }> {
  const req = Readable.from(body === undefined ? [] : [Buffer.from(body)]) as unknown as IncomingMessage
  Object.assign(req, { method, url })
  let status = 0
  let text = ''
  const res = {
    writeHead (s: number) { status = s; return this },
    end (t: string) { text = t }
  } as unknown as ServerResponse
  await handleRoute(routes, req, res)
  return { status, json: JSON.parse(text) as { code?: string } }
}

const OK = new Set([200, 400, 404])

function bodies (valid: ReadonlyArray<Record<string, unknown>>): fc.Arbitrary<Uint8Array | undefined> {
  const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v, (_, x: unknown) => x instanceof Uint8Array ? [...x] : x) ?? 'null')
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 100 }), weight: 1 },
    { arbitrary: fc.string({ maxLength: 60 }).map(s => new TextEncoder().encode(s)), weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }).map(json), weight: 2 },
    { arbitrary: fc.tuple(fc.constantFrom(...valid), fc.array(fc.nat(), { minLength: 1, maxLength: 2 }), fc.constantFrom('replace' as const, 'replace' as const, 'delete' as const, 'insert' as const, 'keep' as const), cborValue).map(([v, path, op, x]) => json(mutate(v, path, op, x))), weight: 6 }
  )
}

const queries = fc.oneof(
  fc.string({ maxLength: 60 }).map(s => `?${s}`),
  fc.tuple(fc.constantFrom('folder', 'path', 'x'), fc.string({ maxLength: 20 }), fc.constantFrom('path', 'folder', ''), fc.string({ maxLength: 20 }))
    .map(([k1, v1, k2, v2]) => `?${k1}=${encodeURIComponent(v1)}&${k2}=${encodeURIComponent(v2)}`),
  fc.constantFrom('', '?folder=docs', '?folder=docs&path=a.txt', '?folder=%ZZ', '?folder=&path=')
)

function endpoint (method: string, path: string, valid: ReadonlyArray<Record<string, unknown>>, seed: number): void {
  it(`${method} ${path}: every request is answered 200, 400 or 404 with a code, never a crash`, async () => {
    const t = tally()
    await fc.assert(fc.asyncProperty(queries, bodies(valid), async (query, body) => {
      if (sharing.invitations.pending().length > 200) await freshSharing()
      t.runs++
      const { status, json } = await call(method, path + query, method === 'POST' ? body : undefined)
      if (!OK.has(status)) throw new Error(`${method} ${path}${query} ${body === undefined ? '' : Buffer.from(body).toString()}: ${status} ${JSON.stringify(json)}`)
      if (status === 200) t.accepted++
      else {
        if (typeof json.code !== 'string') throw new Error('error without a code')
        t.rejected++
        t.codes.set(json.code, (t.codes.get(json.code) ?? 0) + 1)
      }
    }), params(seed))
    report(`${method} ${path}`, t)
  }, TIMEOUT_MS)
}

describe('fuzz: HTTP API bodies and queries', () => {
  endpoint('POST', '/invitations', [{ folder: 'docs' }, { folder: 'docs', readOnly: true, ttlSeconds: 60 }, { folder: 'nope', readOnly: false }], 401)
  endpoint('POST', '/revert', [{ folder: 'docs' }], 402)
  endpoint('POST', '/restore', [{ folder: 'docs', path: 'a.txt' }, { folder: 'docs', path: 'a.txt', version: 'v', to: 'b.txt' }], 403)
  endpoint('GET', '/local-changes', [{}], 404)
  endpoint('GET', '/revisions', [{}], 405)
  endpoint('GET', '/deleted', [{}], 406)
})
