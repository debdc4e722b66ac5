import { FerryError } from '../errors.ts'

/**
 * A start that failed, said in one line. libp2p reports listen addresses it could not use as
 * one error whose message lists each address with a stack trace; the user needs the address
 * and the reason.
 */
export function describeStartError (err: unknown): Error {
  if (err instanceof FerryError) return err
  const e = err instanceof Error ? err : new Error(String(err))
  if (e.name === 'UnsupportedListenAddressesError' || e.message.startsWith('Some configured addresses failed to be listened on')) {
    const failures = [...e.message.matchAll(/^\s*(\/\S+): (?:\w*Error: )?(.*)$/gm)].map(([, addr, why]) => `${addr} (${reasonOf(why!)})`)
    return new FerryError(`cannot listen on ${failures.length > 0 ? failures.join(', ') : 'the --listen addresses'}`, 'ERR_FERRY_LISTEN', 'check --listen: e.g. /ip4/0.0.0.0/tcp/4001, on a free port')
  }
  if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    return new FerryError(`cannot listen: ${reasonOf(e.message)}`, 'ERR_FERRY_LISTEN', 'pick a free port')
  }
  return e
}

function reasonOf (message: string): string {
  if (message.includes('EADDRINUSE')) return 'address already in use'
  if (message.includes('EADDRNOTAVAIL')) return 'no such local address'
  if (message.includes('EACCES')) return 'permission denied'
  if (message.includes('No transport was configured')) return 'not a TCP address ferry can listen on'
  return message.trim()
}
