import { readFile, unlink } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { writeFileAtomic } from '../config/atomic-write.ts'
import { FerryError } from '../errors.ts'

/** The bearer token of the local HTTP API: made on the daemon's first start, kept in --home. */
export const API_TOKEN_FILE = 'api-token'
/** Where a running daemon says how to reach its HTTP API: `{ url, port, token, pid }`. */
export const API_INFO_FILE = 'api.json'
const TOKEN_BYTES = 32

export interface ApiInfo {
  url: string
  port: number
  token: string
  pid: number
}

export async function loadOrCreateToken (home: string): Promise<string> {
  const path = join(home, API_TOKEN_FILE)
  try {
    const token = (await readFile(path, 'utf8')).trim()
    if (token.length > 0) return token
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const token = randomBytes(TOKEN_BYTES).toString('base64url')
  await writeFileAtomic(path, token + '\n', 0o600)
  return token
}

export async function writeApiInfo (home: string, info: ApiInfo): Promise<void> {
  await writeFileAtomic(join(home, API_INFO_FILE), JSON.stringify(info, null, 2) + '\n', 0o600)
}

export async function removeApiInfo (home: string): Promise<void> {
  await unlink(join(home, API_INFO_FILE)).catch(() => {})
}

/** How to reach the running daemon's HTTP API; ERR_FERRY_NO_DAEMON when it does not run. */
export async function readApiInfo (home: string): Promise<ApiInfo> {
  let text: string
  try {
    text = await readFile(join(home, API_INFO_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FerryError(`no ferry daemon is running for ${home}`, 'ERR_FERRY_NO_DAEMON', 'start one with `ferry start`')
    }
    throw err
  }
  try {
    const info = JSON.parse(text) as Partial<ApiInfo>
    if (typeof info.port !== 'number' || typeof info.token !== 'string') throw new Error('fields')
    return { url: info.url ?? `http://127.0.0.1:${info.port}`, port: info.port, token: info.token, pid: info.pid ?? 0 }
  } catch {
    throw new FerryError(`${join(home, API_INFO_FILE)} is not valid`, 'ERR_FERRY_BAD_API_INFO', 'restart the daemon')
  }
}
