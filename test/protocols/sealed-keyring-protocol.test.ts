import { describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { streamPair } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import { serveSealedKeyring, putSealedKeyring, getSealedKeyring, type SealedKeyringStore } from '../../protocols/sealed-keyring/index.ts'
import { RemoteError } from '../../protocols/wire/errors.ts'
import { RelayStore } from '../../relay/store/relay-store.ts'
import { rejection } from '../helpers/async-checks.ts'

const log = logger('test')

describe('/ferry/sealed-keyring/1 against a relay store', () => {
  it('keeps the blob a trusted member puts (across a restart), refuses others, answers null when none is kept', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ferry-sealed-'))
    try {
      let store = new RelayStore({ home, self: 'relay' })
      await store.open()
      const trusted = new Set(['a'])
      const rules = (): SealedKeyringStore => ({
        put: async (peer, folder, blob) => { if (!trusted.has(peer)) return false; await store.putSealedKeyring(folder, blob); return true },
        get: async (peer, folder) => trusted.has(peer) ? await store.sealedKeyring(folder) : undefined
      })
      const call = async <T> (peer: string, client: (s: Parameters<typeof getSealedKeyring>[0]) => Promise<T>): Promise<T> => {
        const [c, s] = await streamPair()
        const served = serveSealedKeyring(s, peer, { store: rules(), log })
        try { return await client(c) } finally { await served }
      }
      expect(await call('a', async c => await getSealedKeyring(c, 'docs'))).toBeNull()
      const blob = new Uint8Array([1, 2, 3, 4, 5])
      await call('a', async c => { await putSealedKeyring(c, 'docs', blob) })
      const err = await rejection(call('stranger', async c => await getSealedKeyring(c, 'docs')))
      expect(err).toBeInstanceOf(RemoteError)
      expect((err as RemoteError).code).toBe('ERR_FERRY_NOT_MEMBER')
      expect(await rejection(call('stranger', async c => { await putSealedKeyring(c, 'docs', new Uint8Array([9])) }))).toBeInstanceOf(RemoteError)
      await store.close()
      store = new RelayStore({ home, self: 'relay' })
      await store.open()
      expect(await call('a', async c => await getSealedKeyring(c, 'docs'))).toEqual(blob)
      await store.close()
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})
