import { describe, it, expect } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { resolveDeviceRef } from '../../src/config/device-ref.ts'
import { checkConfig, type Config } from '../../src/config/config.ts'

const newId = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

describe('resolveDeviceRef', () => {
  it('takes an id, a name or a unique prefix; refuses unknown and ambiguous references', async () => {
    const [a, b, c, member, stranger] = await Promise.all([newId(), newId(), newId(), newId(), newId()])
    const config: Config = {
      version: 1,
      devices: { [a]: { name: 'desktop', addrs: [] }, [b]: { name: 'twin', addrs: [] }, [c]: { name: 'twin', addrs: [] } },
      folders: { docs: { path: '/tmp/docs', members: { [member]: 'read-write' } } }
    }
    expect(resolveDeviceRef(config, a)).toBe(a)
    expect(resolveDeviceRef(config, 'desktop')).toBe(a)
    expect(resolveDeviceRef(config, a.slice(0, 16))).toBe(a)
    // a member no longer among the devices is still known by its id (unshare can name it)
    expect(resolveDeviceRef(config, member.slice(0, 20))).toBe(member)
    // a full id nobody knows is returned as it is: the command says what is missing
    expect(resolveDeviceRef(config, stranger)).toBe(stranger)
    expect(() => resolveDeviceRef(config, 'twin')).toThrow(/name "twin" matches 2 devices/)
    expect(() => resolveDeviceRef(config, 'laptop')).toThrow(/no device "laptop"/)
    // the common "12D3KooW" start names every device: too short to be a reference
    expect(() => resolveDeviceRef(config, '12D3KooW')).toThrow(/no device/)
    expect(() => resolveDeviceRef(config, '')).toThrow(/no device/)
  })
})

describe('checkConfig: paused', () => {
  it('keeps paused true/false; a folder with another value is skipped (not synced until fixed)', () => {
    const folder = (paused: unknown): unknown => ({ version: 1, devices: {}, folders: { docs: { path: '/tmp/docs', members: {}, paused } } })
    expect(checkConfig(folder(true), 'c.json').config.folders.docs?.paused).toBe(true)
    expect(checkConfig(folder(false), 'c.json').config.folders.docs?.paused).toBe(false)
    const bad = checkConfig(folder('yes'), 'c.json')
    expect(bad.config.folders.docs).toBeUndefined()
    expect(bad.skipped).toEqual(['folder "docs": paused "yes": not true or false'])
  })
})
