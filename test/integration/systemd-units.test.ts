import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ferry, REPO } from '../helpers/ferry-process.ts'
import { HAVE_SYSTEMD_ANALYZE, verifyUnits } from '../helpers/systemd-verify.ts'
import { renderUnit, systemdArg } from '../../src/commands/service-commands.ts'
import { FERRY_BIN } from '../../src/cli/node-flags.ts'

const UNITS = ['ferry.service', 'ferry-relay.service']

describe('systemd units', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), `ferry-units-${process.pid}-`)) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it.skipIf(!HAVE_SYSTEMD_ANALYZE).each(UNITS)('packaging/systemd/%s passes systemd-analyze verify (ExecStart rendered with the real launcher)', async name => {
    const template = await readFile(join(REPO, 'packaging/systemd', name), 'utf8')
    // the template's ExecStart names /usr/local/bin/ferry, which verify needs to exist: only the path changes
    const execStart = /^ExecStart=(\S+)(.*)$/m.exec(template)!
    const path = join(dir, name)
    await writeFile(path, renderUnit(template, `${FERRY_BIN}${execStart[2]!}`))
    expect(await verifyUnits([path])).toBe('')
  })

  it('the relay unit runs under its own user with its state directory as home, the system read-only', async () => {
    const relay = await readFile(join(REPO, 'packaging/systemd/ferry-relay.service'), 'utf8')
    for (const line of ['DynamicUser=yes', 'StateDirectory=ferry-relay', 'ProtectSystem=strict', 'ProtectHome=yes', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'Restart=on-failure']) {
      expect(relay.split('\n')).toContain(line)
    }
    expect(relay).toMatch(/^ExecStart=\S+ --home \$\{STATE_DIRECTORY\} relay$/m)
    const device = await readFile(join(REPO, 'packaging/systemd/ferry.service'), 'utf8')
    expect(device.split('\n')).toEqual(expect.arrayContaining(['Restart=on-failure', 'NoNewPrivileges=yes', 'WantedBy=default.target']))
  })

  it('ExecStart words are quoted for systemd: spaces, quotes, % and $', () => {
    expect(systemdArg('/usr/bin/node')).toBe('/usr/bin/node')
    expect(systemdArg('/home/a b/ferry')).toBe('"/home/a b/ferry"')
    expect(systemdArg('/x/100%/$HOME')).toBe('/x/100%%/$$HOME')
    expect(systemdArg('a"b\\c')).toBe('"a\\"b\\\\c"')
  })

  it('service install --unit-dir writes a device unit running this ferry with its --home, and prints how to enable it', async () => {
    const home = join(dir, 'my home')
    const unitDir = join(dir, 'user-units')
    const r = await ferry(['--home', home, 'service', 'install', '--unit-dir', unitDir])
    expect(r.code).toBe(0)
    const path = join(unitDir, 'ferry.service')
    expect(r.stdout).toContain(`wrote ${path}`)
    expect(r.stdout).toContain('systemctl --user daemon-reload')
    expect(r.stdout).toContain('systemctl --user enable --now ferry')
    const unit = await readFile(path, 'utf8')
    expect(unit).toContain(`ExecStart=${process.execPath} `)
    expect(unit).toContain(` ${FERRY_BIN} --home "${home}" start\n`)
    if (HAVE_SYSTEMD_ANALYZE) expect(await verifyUnits([path])).toBe('')
  })

  it('service install --relay --unit-dir writes the relay unit; --dry-run prints the unit and writes nothing', async () => {
    const unitDir = join(dir, 'system-units')
    const r = await ferry(['service', 'install', '--relay', '--unit-dir', unitDir])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('systemctl enable --now ferry-relay')
    const unit = await readFile(join(unitDir, 'ferry-relay.service'), 'utf8')
    expect(unit).toContain(`${FERRY_BIN} --home \${STATE_DIRECTORY} relay\n`)
    if (HAVE_SYSTEMD_ANALYZE) expect(await verifyUnits([join(unitDir, 'ferry-relay.service')])).toBe('')

    const dry = await ferry(['--home', join(dir, 'h2'), 'service', 'install', '--dry-run', '--unit-dir', join(dir, 'none')])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/^\[Service\]$/m)
    expect(dry.stdout).toContain(`--home ${join(dir, 'h2')} start`)
    await expect(readFile(join(dir, 'none', 'ferry.service'))).rejects.toThrow()

    // the relay without a place to write: the unit, where it belongs, the commands; nothing written
    const bare = await ferry(['service', 'install', '--relay'], { HOME: join(dir, 'fake-home') })
    expect(bare.code).toBe(0)
    expect(bare.stdout).toContain('/etc/systemd/system/ferry-relay.service')
    expect((await ferry(['service', 'frobnicate'])).code).toBe(2)
  })
})
