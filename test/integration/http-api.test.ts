import { describe, it, expect, afterEach } from 'vitest'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferry, freePort, waitConverged, waitFor } from '../helpers/ferry-process.ts'

interface ApiInfo { url: string, port: number, token: string }

async function apiInfo (home: string): Promise<ApiInfo> {
  return JSON.parse(await readFile(join(home, 'api.json'), 'utf8')) as ApiInfo
}

/** `auth` null: no Authorization header at all */
async function get (info: ApiInfo, path: string, auth: string | null = `Bearer ${info.token}`): Promise<{ status: number, body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${info.port}${path}`, { headers: auth === null ? {} : { authorization: auth } })
  return { status: res.status, body: await res.json() }
}

describe('local HTTP API', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('serves status, folders, peers and transfers on loopback to bearers of the token only', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    const fixed = await freePort()
    await Promise.all([lab.start(a), lab.start(b, { args: ['--api-port', String(fixed)] })])
    await waitConverged([a, b])

    const ia = await apiInfo(a.home)
    const ib = await apiInfo(b.home)
    expect(ib.port).toBe(fixed)
    expect(ia.port).toBeGreaterThan(0)
    expect(ia.url).toBe(`http://127.0.0.1:${ia.port}`)
    for (const f of ['api.json', 'api-token']) expect((await stat(join(a.home, f))).mode & 0o777).toBe(0o600)
    expect((await readFile(join(a.home, 'api-token'), 'utf8')).trim()).toBe(ia.token)

    // no token, a wrong token, another daemon's token, a token without "Bearer": all 401
    for (const auth of [null, 'Bearer nope', `Bearer ${ib.token}`, ia.token]) {
      const r = await get(ia, '/status', auth)
      expect(r.status).toBe(401)
      expect((r.body as { code: string }).code).toBe('ERR_FERRY_UNAUTHORIZED')
    }
    expect((await get(ia, '/no-such-thing', null)).status).toBe(401)

    const s = await get(ia, '/status')
    expect(s.status).toBe(200)
    expect((s.body as { deviceId: string }).deviceId).toBe(a.id)
    await waitFor('b connected', async () => {
      const peers = (await get(ia, '/peers')).body as Array<{ id: string, connected: boolean }>
      return peers.some(p => p.id === b.id && p.connected)
    })
    const folders = (await get(ia, '/folders')).body as Array<{ id: string, path: string, inSync: boolean, members: Record<string, string> }>
    expect(folders).toHaveLength(1)
    expect(folders[0]).toMatchObject({ id: 'docs', path: a.folder, members: { [b.id]: 'read-write' } })
    expect((await get(ia, '/transfers')).body).toEqual([])
    expect((await get(ia, '/conflicts')).body).toEqual([])
    expect((await get(ia, '/nope')).status).toBe(404)

    // the CLI's unix-socket API still answers
    const cli = await ferry(['--home', a.home, 'status', '--json'])
    expect(cli.code).toBe(0)
    expect(JSON.parse(cli.stdout).deviceId).toBe(a.id)

    // the token survives a restart; api.json goes away with the daemon
    await lab.stop(a)
    await expect(stat(join(a.home, 'api.json'))).rejects.toThrow()
    await lab.start(a)
    expect((await apiInfo(a.home)).token).toBe(ia.token)
  })

  it('a taken API port is a one-line error', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.start(a)
    const taken = (await apiInfo(a.home)).port
    const r = await ferry(['--home', b.home, 'start', '--listen', b.addr, '--no-mdns', '--api-port', String(taken)])
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain(`API port ${taken} is in use`)
  })
})
