import { request } from 'node:http'
import { FerryError } from '../errors.ts'
import { controlSocketPath } from './control-socket.ts'

export class NoDaemonError extends FerryError {
  constructor (home: string) {
    super(`no ferry daemon is running for ${home}`, 'ERR_FERRY_NO_DAEMON', 'start one with `ferry start`')
  }
}

/** Calls the running daemon's control API; NoDaemonError when nothing listens. */
export async function callDaemon<T> (home: string, method: 'GET' | 'POST', path: string, timeoutMs = 10_000, body?: unknown): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json' }
    const req = request({ socketPath: controlSocketPath(home), method, path, timeout: timeoutMs, headers }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        let answer: unknown
        try { answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch {
          reject(new FerryError('the daemon sent an invalid answer', 'ERR_FERRY_BAD_ANSWER'))
          return
        }
        if (res.statusCode !== 200) {
          const e = answer as { error?: string, code?: string, hint?: string }
          reject(new FerryError(e.error ?? `daemon answered ${res.statusCode ?? '?'}`, e.code ?? 'ERR_FERRY_DAEMON', e.hint))
        } else {
          resolve(answer as T)
        }
      })
    })
    req.on('timeout', () => req.destroy(new FerryError('the daemon did not answer in time', 'ERR_FERRY_DAEMON_TIMEOUT')))
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new NoDaemonError(home))
      else reject(err)
    })
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}
