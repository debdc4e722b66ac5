import { execFileSync } from 'node:child_process'

export interface SocketBytes { received: number, sent: number }

/**
 * Bytes a process moved over its TCP sockets, as the kernel counts them (`ss -ti`:
 * bytes_received / bytes_acked), so the figure includes encryption and framing overhead.
 * Only sockets still open are counted: read it before stopping the process.
 */
export function socketBytes (pid: number): SocketBytes {
  let out = ''
  try {
    out = execFileSync('ss', ['-tinpH'], { encoding: 'utf8' })
  } catch {
    return { received: Number.NaN, sent: Number.NaN }
  }
  let received = 0
  let sent = 0
  const lines = out.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.includes(`pid=${pid},`)) continue
    const info = lines[i + 1] ?? ''
    received += Number(/bytes_received:(\d+)/.exec(info)?.[1] ?? 0)
    sent += Number(/bytes_acked:(\d+)/.exec(info)?.[1] ?? 0)
  }
  return { received, sent }
}
