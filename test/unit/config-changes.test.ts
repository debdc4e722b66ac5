import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { emptyConfig, saveConfig, type Config } from '../../src/config/config.ts'
import { admitJoiner, removeDevice, setFolderPaused, shareFolder, trustDevice, unshareFolder, updateConfig } from '../../src/config/config-changes.ts'

const deviceId = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

describe('config changes', () => {
  let home: string | undefined
  afterEach(async () => { if (home !== undefined) await rm(home, { recursive: true, force: true }) })

  it('updateConfig writes the change, and nothing when the change throws', async () => {
    home = await mkdtemp(join(tmpdir(), `ferry-config-changes-${process.pid}-`))
    await saveConfig(home, emptyConfig())
    const before = await readFile(join(home, 'config.json'), 'utf8')
    await expect(updateConfig(home, c => { setFolderPaused(c, 'docs', true) })).rejects.toMatchObject({ code: 'ERR_FERRY_FOLDER_NOT_FOUND' })
    expect(await readFile(join(home, 'config.json'), 'utf8')).toBe(before)
    await updateConfig(home, c => { c.folders.docs = { path: '/tmp/docs', members: {} } })
    await updateConfig(home, c => { setFolderPaused(c, 'docs', true) })
    expect((JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as Config).folders.docs?.paused).toBe(true)
  })

  it('trust, share, unshare and remove a device', async () => {
    const [self, other] = [await deviceId(), await deviceId()]
    const config: Config = { ...emptyConfig(), folders: { docs: { path: '/tmp/docs', members: {} } } }
    expect(() => trustDevice(config, { self, device: self, addrs: [] })).toThrow(/own id/)
    expect(trustDevice(config, { self, device: other, addrs: ['/ip4/127.0.0.1/tcp/1'], name: 'laptop' })).toEqual({ id: other, name: 'laptop', addrs: ['/ip4/127.0.0.1/tcp/1'] })
    expect(shareFolder(config, { folder: 'docs', device: 'laptop', readOnly: true })).toEqual({ folder: 'docs', device: other, role: 'read-only' })
    expect(unshareFolder(config, 'docs', other)).toEqual({ folder: 'docs', device: other })
    expect(() => unshareFolder(config, 'docs', other)).toThrow(/not a member/)
    shareFolder(config, { folder: 'docs', device: other, readOnly: false })
    expect(removeDevice(config, 'laptop')).toEqual({ id: other, name: 'laptop', folders: ['docs'] })
    expect(config.devices).toEqual({})
    expect(config.folders.docs?.members).toEqual({})
  })

  it('a joiner is admitted with the role; addresses naming another device are dropped', async () => {
    const [joiner, third] = [await deviceId(), await deviceId()]
    const config: Config = { ...emptyConfig(), folders: { docs: { path: '/tmp/docs', members: {} } } }
    admitJoiner(config, { device: joiner, folder: 'docs', role: 'read-write', addrs: ['/ip4/127.0.0.1/tcp/1', `/ip4/127.0.0.1/tcp/2/p2p/${third}`] })
    expect(config.devices[joiner]).toEqual({ name: `device-${joiner.slice(-7)}`, addrs: ['/ip4/127.0.0.1/tcp/1'] })
    expect(config.folders.docs?.members[joiner]).toBe('read-write')
  })
})
