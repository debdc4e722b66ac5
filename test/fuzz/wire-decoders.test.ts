import { describe, it } from 'vitest'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { decodeFrame } from '../../protocols/wire/message-stream.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeJoinMessage, encodeJoinMessage, JOIN_PROTOCOL_V1, type JoinMessage } from '../../protocols/join/index.ts'
import { decodeIndexMessage, encodeIndexMessage } from '../../protocols/index/messages.ts'
import { indexCodecV2 } from '../../protocols/index/delta-messages.ts'
import { INDEX_PROTOCOL_V1, INDEX_PROTOCOL_V2 } from '../../protocols/index/constants.ts'
import { decodeBlkFrame, decodeBlocksMessage, encodeBlocksMessage } from '../../protocols/blocks/messages.ts'
import { BLOCKS_PROTOCOL_V2 } from '../../protocols/blocks/constants.ts'
import { replicaCodecV1, replicaCodecV2 } from '../../protocols/replica/messages.ts'
import { REPLICA_PROTOCOL_V1, REPLICA_PROTOCOL_V2 } from '../../protocols/replica/constants.ts'
import { syntheticBlock } from '../helpers/synthetic-records.ts'
import { decodeKeysMessage, encodeKeysMessage, KEYS_PROTOCOL_V1 } from '../../protocols/keys/index.ts'
import { checkKey, newFolderKey } from '../../src/keys/folder-keyring.ts'
import { decodeSealedKeyringMessage, encodeSealedKeyringMessage, SEALED_KEYRING_PROTOCOL_V1 } from '../../protocols/sealed-keyring/index.ts'
import { params, report, tally, TIMEOUT_MS, typedOutcome, wireInputs } from './fuzz-kit.ts'

const cid = syntheticBlock('fuzz').cid
const cid2 = syntheticBlock('fuzz2').cid
const secret = new Uint8Array(32).fill(7)
const device = '12D3KooWGaSTcfHSkVV1GYYCYpFMhKpCNSd8fnGxoex66LbkQgYe'
const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill)

/** one decoder: the frame is decoded as MessageStream does, then the protocol's decoder runs */
function decoderTarget (name: string, protocol: string, decode: (v: [string, ...unknown[]]) => unknown, valid: unknown[][], seed: number, check: (m: unknown) => void = () => {}): void {
  it(`${name}: every input is decoded or rejected with a typed error`, () => {
    const t = tally()
    fc.assert(fc.property(wireInputs(valid), input => {
      typedOutcome(t, () => check(decode(decodeFrame(protocol, input))))
    }), params(seed))
    report(name, t)
  }, TIMEOUT_MS)
}

describe('fuzz: wire decoders', () => {
  decoderTarget('join/1', JOIN_PROTOCOL_V1, decodeJoinMessage, [
    encodeJoinMessage({ type: 'join', folder: 'docs', secret, addrs: ['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/1/p2p/' + device] }),
    encodeJoinMessage({ type: 'welcome', folder: 'docs', role: 'read-only' }),
    encodeJoinMessage({ type: 'err', code: 'ERR_FERRY_INVITE_USED', message: 'used' })
  ], 101, m => {
    // what a join carries ends up in config.json and is dialled: it must be usable as is
    const j = m as JoinMessage
    if (j.type === 'join') for (const a of j.addrs) multiaddr(a)
    if (j.type !== 'err' && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(j.folder)) throw new Error(`folder ${j.folder} accepted`)
  })

  const folderKey = newFolderKey(2)
  decoderTarget('join/2 and keys/1.0.0', KEYS_PROTOCOL_V1, (v): unknown[] => [v[0] === 'welcome' ? decodeJoinMessage(v) : decodeKeysMessage(v)], [
    encodeKeysMessage({ type: 'keys', folder: 'docs', keys: [folderKey, newFolderKey()] }),
    encodeKeysMessage({ type: 'err', code: 'ERR_FERRY_NOT_MEMBER', message: 'no' }),
    encodeJoinMessage({ type: 'welcome', folder: 'docs', role: 'read-write', keys: [folderKey] })
  ], 107, ms => {
    // every key that gets through matches its id: a forged key is never taken
    for (const m of ms as Array<{ type: string, folder?: string, keys?: unknown[] }>) for (const k of m.keys ?? []) checkKey(k as typeof folderKey, m.folder!)
  })

  decoderTarget('sealed-keyring/1', SEALED_KEYRING_PROTOCOL_V1, decodeSealedKeyringMessage, [
    encodeSealedKeyringMessage({ type: 'put', folder: 'docs', blob: bytes(100) }),
    encodeSealedKeyringMessage({ type: 'get', folder: 'docs' }),
    encodeSealedKeyringMessage({ type: 'blob', blob: null }),
    encodeSealedKeyringMessage({ type: 'ok' })
  ], 109)

  const indexValid = [
    encodeIndexMessage({ type: 'sub', folder: 'docs', positions: { [device]: 3, other: 1 } }),
    encodeIndexMessage({ type: 'recs', records: [[bytes(40), bytes(64)]] }),
    encodeIndexMessage({ type: 'ack' }),
    encodeIndexMessage({ type: 'synced' }),
    encodeIndexMessage({ type: 'err', code: 'ERR_X', message: 'no' })
  ]
  decoderTarget('index/1', INDEX_PROTOCOL_V1, decodeIndexMessage, indexValid, 102)
  decoderTarget('index/2', INDEX_PROTOCOL_V2, v => indexCodecV2.decode(v), [
    ...indexValid,
    indexCodecV2.encode({ type: 'recs', items: [{ kind: 'whole', bytes: bytes(40), signature: bytes(64) }, { kind: 'skeleton', head: bytes(30), signature: bytes(64), segments: [{ id: bytes(32, 9), count: 5 }] }] }),
    indexCodecV2.encode({ type: 'want', wants: [[0, [0, 1]]] }),
    indexCodecV2.encode({ type: 'segs', segments: [bytes(200)] })
  ], 103)

  decoderTarget('blocks/2', BLOCKS_PROTOCOL_V2, decodeBlocksMessage, [
    encodeBlocksMessage({ type: 'hello', codecs: ['zstd', 'gzip'] }),
    encodeBlocksMessage({ type: 'want', folder: 'docs', cids: [cid, cid2] }),
    encodeBlocksMessage({ type: 'blk', cid, data: bytes(100) }),
    encodeBlocksMessage({ type: 'zblk', cid, codec: 'gzip', data: bytes(10) }),
    encodeBlocksMessage({ type: 'none', cid }),
    encodeBlocksMessage({ type: 'err', code: 'ERR_X', message: 'no' })
  ], 104)

  it('blocks/2 raw blk frames: every input is parsed, passed on, or rejected with a typed error', () => {
    const t = tally()
    fc.assert(fc.property(wireInputs([encodeBlocksMessage({ type: 'blk', cid, data: bytes(300) }), encodeBlocksMessage({ type: 'blk', cid: cid2, data: bytes(1) })]), input => {
      typedOutcome(t, () => decodeBlkFrame(new Uint8ArrayList(input)))
    }), params(105))
    report('blocks/2 blk frame', t)
  }, TIMEOUT_MS)

  const replicaValid = [
    replicaCodecV1.encode({ type: 'hello', folder: 'docs' }),
    replicaCodecV1.encode({ type: 'pos', positions: { [device]: 4 } }),
    replicaCodecV1.encode({ type: 'has', cids: [cid, cid2] }),
    replicaCodecV1.encode({ type: 'lack', cids: [cid] }),
    replicaCodecV1.encode({ type: 'blk', cid, data: bytes(50) }),
    replicaCodecV1.encode({ type: 'got', cid }),
    replicaCodecV1.encode({ type: 'recs', items: [{ kind: 'whole', bytes: bytes(40), signature: bytes(64) }] }),
    replicaCodecV1.encode({ type: 'ack', count: 3 }),
    replicaCodecV1.encode({ type: 'err', code: 'ERR_X', message: 'no' })
  ]
  decoderTarget('replica/1', REPLICA_PROTOCOL_V1, v => replicaCodecV1.decode(v), replicaValid, 106)
  decoderTarget('replica/2', REPLICA_PROTOCOL_V2, v => replicaCodecV2.decode(v), [
    ...replicaValid,
    replicaCodecV2.encode({ type: 'want', wants: [[0, [1]]] }),
    replicaCodecV2.encode({ type: 'segs', segments: [bytes(100)] })
  ], 107)
})
