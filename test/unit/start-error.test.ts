import { describe, it, expect } from 'vitest'
import { describeStartError } from '../../src/lifecycle/start-error.ts'
import { FerryError } from '../../src/errors.ts'

/** libp2p's listen failure (one error listing each address with its stack) said in one line. */
describe('describeStartError', () => {
  it('names each address that failed and why, on one line', () => {
    const err = new Error(`Some configured addresses failed to be listened on, you may need to remove one or more listen addresses from your configuration or set \`transportManager.faultTolerance\` to NO_FATAL:

  /ip4/127.0.0.1/tcp/4001: Error: listen EADDRINUSE: address already in use 127.0.0.1:4001
      at Server.setupListenHandle [as _listen2] (node:net:2328:16)

  /ip4/127.0.0.1: UnsupportedListenAddressError: No transport was configured to listen on this address
      at file:///x/transport-manager.js:166:51
`)
    err.name = 'UnsupportedListenAddressesError'
    const out = describeStartError(err) as FerryError
    expect(out.code).toBe('ERR_FERRY_LISTEN')
    expect(out.message).toBe('cannot listen on /ip4/127.0.0.1/tcp/4001 (address already in use), /ip4/127.0.0.1 (not a TCP address ferry can listen on)')
  })

  it('keeps ferry errors and passes other errors on', () => {
    const ours = new FerryError('x', 'ERR_FERRY_X')
    expect(describeStartError(ours)).toBe(ours)
    const other = new Error('disk on fire')
    expect(describeStartError(other)).toBe(other)
  })
})
