import { describe, it } from 'vitest'
import fc from 'fast-check'
import { decode, encode } from 'cborg'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeRecord, encodeRecord, STRICT_CBOR } from '../../src/log/record-codec.ts'
import { decodeSignedRecord, encodeSignedRecord, signRecord } from '../../src/log/signed-record.ts'
import { decodePairingCode, encodePairingCode, PAIRING_CODE_PREFIX } from '../../src/sharing/pairing-code.ts'
import { deviceIdOf } from '../../src/identity/device-key.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { fileRecordOf, syntheticBlocks } from '../helpers/synthetic-records.ts'
import { cborValue, mutate, params, report, tally, TIMEOUT_MS, typedOutcome, typedOutcomeAsync } from './fuzz-kit.ts'

const device = '12D3KooWGaSTcfHSkVV1GYYCYpFMhKpCNSd8fnGxoex66LbkQgYe'
const records: FileRecord[] = [
  fileRecordOf(syntheticBlocks(3, 'a'), { folder: 'docs', device, seq: 7, path: 'dir/a.txt' }),
  { ...fileRecordOf([], { folder: 'docs', device, seq: 2, path: 'gone' }), deleted: true, size: 0 },
  { ...fileRecordOf([], { folder: 'docs', device, seq: 3, path: 'sub' }), type: 'dir', size: 0, version: { [device]: 3, other: 1 } }
]
const recordBytes = records.map(encodeRecord)
type Op = 'replace' | 'delete' | 'insert' | 'keep'
const ops = fc.constantFrom<Op>('replace', 'replace', 'delete', 'insert', 'keep')

/** CBOR `bytes` decoded, one node changed (valid CBOR, a wrong field), encoded again */
const changedNode = (samples: Uint8Array[]): fc.Arbitrary<Uint8Array> =>
  fc.tuple(fc.constantFrom(...samples), fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), ops, cborValue)
    .map(([b, path, op, value]) => encode(mutate(decode(b, STRICT_CBOR), path, op, value)))

/** `samples` with bytes flipped and maybe cut */
const changedBytes = (samples: Uint8Array[]): fc.Arbitrary<Uint8Array> =>
  fc.tuple(fc.constantFrom(...samples), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.option(fc.nat()))
    .map(([b, flips, cut]) => {
      const out = new Uint8Array(b)
      for (const [i, v] of flips) out[i % out.length] = v
      return cut === null ? out : out.subarray(0, cut % (out.length + 1))
    })

describe('fuzz: record codec and pairing code', () => {
  it('decodeRecord: every input is a record that encodes to the same bytes, or a typed rejection', () => {
    const inputs = fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 1 },
      { arbitrary: changedNode(recordBytes), weight: 5 },
      { arbitrary: changedBytes(recordBytes), weight: 2 }
    )
    const t = tally()
    fc.assert(fc.property(inputs, input => {
      typedOutcome(t, () => {
        const r = decodeRecord(input)
        if (Buffer.compare(Buffer.from(encodeRecord(r)), Buffer.from(input)) !== 0) throw new Error('accepted a non-canonical record')
      })
    }), params(201))
    report('record codec', t)
  }, TIMEOUT_MS)

  it('decodeSignedRecord: every envelope is opened or rejected with a typed error', async () => {
    const key = await generateKeyPair('Ed25519')
    const self = deviceIdOf(key)
    const own = records.map(r => ({ ...r, device: self, modifiedBy: self, version: { [self]: r.seq } }))
    const envelopes = await Promise.all(own.map(async r => encodeSignedRecord(await signRecord(r, key))))
    const inputs = fc.oneof(fc.uint8Array({ maxLength: 300 }), changedNode(envelopes), changedBytes(envelopes))
    const t = tally()
    await fc.assert(fc.asyncProperty(inputs, async input => {
      await typedOutcomeAsync(t, async () => await decodeSignedRecord(input))
    }), params(202))
    report('signed record', t)
  }, TIMEOUT_MS)

  it('decodePairingCode: every text is a usable code or a typed rejection', () => {
    const valid = [
      encodePairingCode({ folder: 'docs', device, addrs: ['/ip4/127.0.0.1/tcp/4001'], secret: new Uint8Array(32).fill(3) }),
      encodePairingCode({ folder: 'a.b', device, addrs: [], relay: '/ip4/10.0.0.1/tcp/9', secret: new Uint8Array(32) })
    ]
    const bodies = valid.map(c => new Uint8Array(Buffer.from(c.slice(PAIRING_CODE_PREFIX.length), 'base64url')))
    const asCode = (b: Uint8Array): string => PAIRING_CODE_PREFIX + Buffer.from(b).toString('base64url')
    const inputs = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom(...valid),
      fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.nat()).map(([c, i, n]) => c.slice(0, i % (c.length + 1)) + c.slice(i % (c.length + 1) + (n % 3))),
      fc.uint8Array({ maxLength: 200 }).map(asCode),
      changedNode(bodies).map(asCode),
      changedBytes(bodies).map(asCode)
    )
    const t = tally()
    fc.assert(fc.property(inputs, text => {
      typedOutcome(t, () => {
        const c = decodePairingCode(text)
        // what join dials must parse
        peerIdFromString(c.device)
        for (const a of c.addrs) multiaddr(`${a}/p2p/${c.device}`)
        if (c.relay !== undefined) multiaddr(c.relay)
      })
    }), params(203))
    report('pairing code', t)
  }, TIMEOUT_MS)
})
