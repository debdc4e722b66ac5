import { describe, it, expect, afterEach } from 'vitest'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab, ferry, waitFor } from '../helpers/ferry-process.ts'
import { useRelay, useRelayLabs } from '../helpers/relay-process.ts'

interface LogRecord { level: string, time: string, msg: string, event?: string, folder?: string, path?: string, [k: string]: unknown }

async function records (file: string): Promise<LogRecord[]> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text.split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l) as LogRecord)
}

describe('structured logs', () => {
  let lab: Lab
  afterEach(async () => { await lab.cleanup() })

  it('a received file is an info record in the JSON log, a per-path error a warn one; --log-level warn keeps only warnings; log files are 0600', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await mkdir(a.folder, { recursive: true })
    // a name ferry cannot sync: a per-path error on a, the rest of the folder syncs on
    await writeFile(join(a.folder, 'back\\slash.txt'), 'x')
    const aLog = join(lab.dir, 'a.log')
    const bLog = join(lab.dir, 'b.log')
    await Promise.all([
      lab.start(a, { args: ['--log-level', 'warn', '--log-file', aLog] }),
      lab.start(b, { args: ['--log-format', 'json', '--log-file', bLog] })
    ])
    // (a's tree holds a name ferry does not sync: the trees never compare equal)
    await waitFor('a and b connected', async () => (await records(bLog)).some(r => r.event === 'peer.connected'), 60_000)
    await writeFile(join(a.folder, 'small.txt'), 'a small file, received in well under 5 s')

    // on b: one info record for the file received, with its fields, in the file and on stdout
    await waitFor('small.txt in b\'s log', async () => (await records(bLog)).some(r => r.event === 'file.added' && r.path === 'small.txt'), 60_000)
    const added = (await records(bLog)).find(r => r.event === 'file.added' && r.path === 'small.txt')!
    expect(added).toMatchObject({ level: 'info', folder: 'docs', path: 'small.txt', entry: 'file', size: 40, device: a.id })
    expect(added.msg).toBe('docs: added small.txt')
    expect(Number.isNaN(Date.parse(added.time))).toBe(false)
    expect((await records(bLog)).some(r => r.event === 'peer.connected' && r.device === a.id && r.level === 'info')).toBe(true)
    // stdout of `--log-format json` is the same records, one JSON object a line
    const bStdout = b.log.split('\n').filter(l => l.startsWith('{'))
    expect(bStdout.some(l => (JSON.parse(l) as LogRecord).event === 'file.added')).toBe(true)

    // on a: the per-path error at warn; nothing at info (not its own file, not the peer)
    await waitFor('the bad name in a\'s log', async () => (await records(aLog)).some(r => r.event === 'file.error'), 60_000)
    const error = (await records(aLog)).find(r => r.event === 'file.error')!
    expect(error).toMatchObject({ level: 'warn', folder: 'docs', path: 'back\\slash.txt', code: 'ERR_FERRY_UNSYNCABLE_NAME' })
    const aRecords = await records(aLog)
    expect(aRecords.filter(r => r.level !== 'warn' && r.level !== 'error')).toEqual([])
    expect(aRecords.some(r => r.path === 'small.txt')).toBe(false)
    // the text lines on a's stdout follow the level too: the warning is there, the peer's arrival is not
    expect(a.log).toMatch(/docs: back\\slash\.txt: name contains a backslash/)
    expect(a.log).not.toMatch(/peer connected/)
    expect(a.log).toContain('ferry running')

    for (const f of [aLog, bLog]) expect((await stat(f)).mode & 0o777).toBe(0o600)
  })

  it('a bad logging flag is a usage error, a log file that cannot be opened a one-line error', async () => {
    lab = new Lab()
    await lab.setup()
    const a = await lab.device('a')
    const level = await ferry(['--home', a.home, 'start', '--log-level', 'loud'])
    expect(level.code).toBe(2)
    expect(level.stderr).toMatch(/^ferry: --log-level takes one of trace, debug, info, warn, error/)
    const file = await ferry(['--home', a.home, 'start', '--no-mdns', '--listen', a.addr, '--log-file', join(lab.dir, 'missing', 'x.log')])
    expect(file.code).toBe(1)
    expect(file.stderr.trim().split('\n')).toHaveLength(1)
    expect(file.stderr).toMatch(/^ferry: cannot open the log file .*x\.log: ENOENT/)
  })
})

describe('structured logs of uploads to a relay', () => {
  const env = useRelayLabs()

  it('a file uploaded to the relay is an info record (replica.uploaded) in the device\'s log', async () => {
    const { lab, relays } = env
    const r = await relays.relay('relay')
    const a = await lab.device('a')
    await useRelay(a, r)
    await mkdir(a.folder, { recursive: true })
    await writeFile(join(a.folder, 'up.txt'), 'uploaded to the relay')
    const aLog = join(lab.dir, 'a.log')
    await lab.start(a, { args: ['--log-file', aLog] })
    await waitFor('an upload in a\'s log', async () => (await records(aLog)).some(x => x.event === 'replica.uploaded'), 60_000)
    const up = (await records(aLog)).find(x => x.event === 'replica.uploaded')!
    expect(up).toMatchObject({ level: 'info', folder: 'docs', replica: r.id })
    expect(up.records as number).toBeGreaterThan(0)
  })
})
