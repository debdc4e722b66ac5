import { describe, it, expect } from 'vitest'
import { printable, printableText, validateDeviceName } from '../../src/text/printable.ts'
import { formatStatus, formatFolders } from '../../src/cli/format.ts'
import { formatEvent } from '../../src/cli/format-event.ts'
import { formatConflicts, formatDeleted } from '../../src/cli/format-history.ts'
import { formatRelayStatus } from '../../src/cli/format-relay.ts'
import type { DaemonStatus } from '../../src/daemon/status-types.ts'
import type { RelayStatus } from '../../relay/relay-status.ts'
import type { FerryEvent } from '../../src/events/event-bus.ts'

const DEV = '12D3KooWHvzTkzGC4YXdhRnQsg2CTQSG6EueBw14WuwC17tHGg6W'
const EVIL = 'laptop\n12:00:00.000 connected\u001b[2J\u009b31m\u202etxt.exe'
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/

/** Names and paths from peers or config.json cannot add lines or steer the terminal. */
describe('printable output', () => {
  it('escapes controls, C1 and bidi characters; printableText keeps line breaks', () => {
    expect(printable('a\nb\u001b[1m\u009b\u202e\u200bc')).toBe('a\\nb\\x1b[1m\\x9b\\u202e\\u200bc')
    expect(printableText('a\nb\u001b')).toBe('a\nb\\x1b')
    expect(printable('Zoë 東京 — ok')).toBe('Zoë 東京 — ok')
  })

  it('validates device names given by the user', () => {
    expect(validateDeviceName('Zoë\'s laptop (2)')).toBe('Zoë\'s laptop (2)')
    for (const bad of ['', '  ', 'a\nb', 'a\rb', 'a\u001bb', 'a\u009bb', 'a\u202eb', 'a\u2028b', 'x'.repeat(65)]) {
      expect(() => validateDeviceName(bad), JSON.stringify(bad)).toThrow(/device name/)
    }
  })

  it('every formatter prints one line per item whatever the names and paths hold', () => {
    const status: DaemonStatus = {
      deviceId: DEV,
      listenAddrs: [],
      peers: [{ id: DEV, name: EVIL, connected: true, addrs: [] }],
      folders: [{ id: 'docs', path: '/tmp/a\nb', inSync: false, needFiles: 1, needBytes: 10, transfers: [{ folder: 'docs', path: EVIL, sizeBytes: 10, doneBytes: 1, bytesPerSecond: 1, startedAt: 0 }] } as unknown as DaemonStatus['folders'][number]],
      receivedBytes: {},
      indexTraffic: {}
    }
    const relay = { deviceId: DEV, retentionDays: 1, listenAddrs: [], peers: [{ id: DEV, name: EVIL, connected: true }], folders: [], receivedBlocks: 0, receivedBlockBytes: 0 } as unknown as RelayStatus
    const events: FerryEvent[] = [
      { id: 1, time: 0, type: 'peer.connected', device: DEV, name: EVIL },
      { id: 2, time: 0, type: 'file.added', folder: 'docs', path: EVIL, entry: 'file', size: 1, device: DEV },
      { id: 3, time: 0, type: 'conflict', folder: 'docs', path: EVIL, conflictPath: EVIL, device: DEV, keptFrom: DEV }
    ]
    const outputs = [
      [formatStatus(status), 13],
      [formatRelayStatus(relay), 5],
      [formatFolders([{ id: 'docs', path: EVIL, members: {} }]), 1],
      [formatConflicts([{ folder: 'docs', path: EVIL, original: EVIL, device: DEV, time: '2024-01-01T00:00:00.000Z' }] as never), 2],
      [formatDeleted('docs', [{ path: EVIL, deletedAt: '2024-01-01T00:00:00.000Z', deletedBy: DEV }] as never), 1],
      ...events.map(e => [formatEvent(e, { [DEV]: EVIL }), 1] as const)
    ] as const
    for (const [text, lines] of outputs) {
      expect(text.split('\n'), text).toHaveLength(lines)
      expect(CONTROL.test(text), text).toBe(false)
      expect(text).toContain('laptop\\n12:00:00.000 connected\\x1b[2J')
    }
  })
})
