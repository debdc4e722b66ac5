import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ferry, ferryOk, REPO, type CliResult } from '../helpers/ferry-process.ts'

/** The CLI's help, suggestions, exit codes, --version, --json and --debug, on real `ferry` processes. */

const USAGE_EXIT = 2

/** a usage error: nothing on stdout, one line on stderr naming the help to read, exit code 2 */
const usageError = (r: CliResult, pattern: RegExp): void => {
  expect(r.code, r.stderr).toBe(USAGE_EXIT)
  expect(r.stdout).toBe('')
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1)
  expect(r.stderr).toMatch(/^ferry: .* \(run `ferry[a-z -]* --help`\)\n$/)
  expect(r.stderr).toMatch(pattern)
}

/** the command names a help text lists under "Commands:" (without `help`) */
const listedCommands = (help: string): string[] => {
  const section = help.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? ''
  return section.split('\n').map(l => /^ {2}([a-z-]+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined && n !== 'help')
}

describe('ferry CLI help, suggestions and exit codes', () => {
  let dir: string
  let home: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-cli-help-'))
    home = join(dir, 'home')
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('`ferry --help` lists the commands and the exit codes; every command has help with a description and examples', async () => {
    const top = await ferry(['--help'])
    expect(top.code).toBe(0)
    expect(top.stdout).toMatch(/^Usage: ferry /)
    expect(top.stdout).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*usage/)
    const commands = listedCommands(top.stdout)
    expect(commands).toEqual(expect.arrayContaining(['init', 'id', 'status', 'folder', 'device', 'share', 'unshare', 'invite', 'join', 'restore', 'start', 'relay', 'service']))

    // every command, and every subcommand of a group, found from the help itself
    const paths: string[][] = []
    for (const name of commands) {
      const help = await ferryOk([name, '--help'])
      const subs = listedCommands(help)
      if (subs.length === 0 || name === 'relay') paths.push([name])
      for (const sub of subs) paths.push([name, sub])
    }
    expect(paths).toEqual(expect.arrayContaining([['folder', 'add'], ['device', 'rename'], ['relay', 'verify'], ['service', 'install']]))
    for (const path of paths) {
      const r = await ferry([...path, '--help'])
      expect(r.code, path.join(' ')).toBe(0)
      const [usage, , description] = r.stdout.split('\n')
      expect(usage, path.join(' ')).toMatch(new RegExp(`^Usage: ferry ${path.join(' ')} `))
      expect(description?.length, path.join(' ')).toBeGreaterThan(10)
      expect(r.stdout, path.join(' ')).toMatch(new RegExp(`\\nExamples:\\n {2}\\$ .*ferry .*${path.at(-1)!}.*\\n( {2}\\$ .*\\n){0,2}$`))
      // --home and --debug are listed for every command; the program's --version is not (restore has its own)
      expect(r.stdout, path.join(' ')).toMatch(/Global Options:\n {2}--home <dir>/)
      expect(r.stdout).not.toContain('-V, --version')
    }
    const share = await ferryOk(['share', '--help'])
    expect(share).toMatch(/Arguments:\n {2}folderId .*\n {2}device /)
    expect(share).toMatch(/--read-only .*\n {2}--replica /)
    expect(await ferryOk(['folder', 'add', '--help'])).toContain('--id <folderId>')
    expect(await ferryOk(['help', 'share'])).toBe(share)
  }, 600_000)

  it('a mistyped command or flag: one line with a suggestion and the help to read, exit code 2', async () => {
    usageError(await ferry(['--home', home, 'stauts']), /^ferry: unknown command 'stauts'; did you mean status\? \(run `ferry --help`\)$/m)
    usageError(await ferry(['--home', home, 'folder', 'lsit']), /^ferry: unknown command 'lsit'; did you mean list\? \(run `ferry folder --help`\)$/m)
    usageError(await ferry(['--home', home, 'status', '--jsno']), /^ferry: unknown option '--jsno'; did you mean --json\? \(run `ferry status --help`\)$/m)
    usageError(await ferry(['--home', home, 'share', 'docs', 'laptop', '--read-onyl']), /unknown option '--read-onyl'; did you mean --read-only\? \(run `ferry share --help`\)/)
    usageError(await ferry(['--home', home, 'relay', 'verfy']), /unknown command 'verfy'.*verify/)
    // other usage errors: missing or extra arguments, a missing option, a bad option value, a group without its command
    usageError(await ferry(['--home', home, 'share', 'docs']), /missing required argument 'device'/)
    usageError(await ferry(['--home', home, 'id', 'extra']), /too many arguments for 'id'/)
    usageError(await ferry(['--home', home, 'folder', 'add', join(dir, 'x')]), /required option '--id <folderId>' not specified \(run `ferry folder add --help`\)/)
    usageError(await ferry(['--home', home, 'invite', 'docs', '--expires', 'soon']), /--expires takes a duration/)
    usageError(await ferry(['--home', home, 'device']), /`ferry device` needs a command: add, list, remove, rename/)
    // no raw parser text, no stack
    const r = await ferry(['--home', home, 'status', '--bogus'])
    expect(r.stderr).not.toMatch(/error: |\n\s+at /)
    // `ferry` alone: the overview on stdout, and the usage exit code
    const bare = await ferry([])
    expect(bare.code).toBe(USAGE_EXIT)
    expect(bare.stdout).toMatch(/^Usage: ferry /)
  }, 300_000)

  it('--version and -V print the version; restore --version is restore\'s own option', async () => {
    const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string }
    expect(await ferry(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' })
    expect(await ferry(['-V'])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' })
    expect(await ferry(['--home', home, '--version'])).toMatchObject({ code: 0, stdout: `${version}\n` })
    await ferryOk(['--home', home, 'init'])
    await ferryOk(['--home', home, 'folder', 'add', join(dir, 'docs'), '--id', 'docs'])
    // the option parses and reaches the handler, which then needs a daemon: not the version printed
    const restore = await ferry(['--home', home, 'restore', 'docs', 'x.txt', '--version', 'abc'])
    expect(restore.stdout).toBe('')
    expect(restore.code).toBe(1)
    expect(restore.stderr).toMatch(/^ferry: restore needs the running daemon/)
    // without its value, restore's --version is a usage error, not the program's flag
    usageError(await ferry(['--home', home, 'restore', 'docs', 'x.txt', '--version']), /option '--version <id>' argument missing \(run `ferry restore --help`\)/)
  }, 300_000)

  it('--json prints the handler\'s result for commands that print data; --home works after the command too', async () => {
    const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await ferryOk(['--home', home, ...args, '--json'])) as T
    const other = join(dir, 'other')
    // (the --home after the command wins over the one before it)
    const otherId = (await json<{ deviceId: string, home: string }>('init', '--home', other)).deviceId
    expect(otherId).toMatch(/^12D3KooW/)
    expect(await json<{ deviceId: string }>('id')).toEqual({ deviceId: expect.stringMatching(/^12D3KooW/) as unknown })
    expect(await json('folder', 'add', join(dir, 'photos'), '--id', 'photos')).toEqual({ id: 'photos', path: join(dir, 'photos') })
    expect(await json('device', 'add', otherId, '--name', 'laptop')).toEqual({ id: otherId, name: 'laptop', addrs: [] })
    expect(await json('share', 'photos', 'laptop', '--read-only')).toEqual({ folder: 'photos', device: otherId, role: 'read-only' })
    expect(await json('folder', 'pause', 'photos')).toEqual({ folder: 'photos', paused: true, daemonReloaded: false })
    expect(await json<Array<{ id: string, paused?: boolean }>>('folder', 'list')).toContainEqual(expect.objectContaining({ id: 'photos', paused: true }))
    expect(await json('device', 'rename', 'laptop', 'desktop')).toMatchObject({ id: otherId, name: 'desktop' })
    expect(await json<Array<{ id: string, name?: string }>>('device', 'list')).toEqual([expect.objectContaining({ id: otherId, name: 'desktop' })])
    expect(await json('unshare', 'photos', 'desktop')).toEqual({ folder: 'photos', device: otherId, daemonReloaded: false, name: 'desktop', trusted: true, otherFolders: [] })
    expect(await json('conflicts')).toEqual([])
    expect(await json('revisions', 'photos', '--deleted')).toEqual([])
    expect(await json('folder', 'remove', 'photos')).toMatchObject({ folder: 'photos', path: join(dir, 'photos') })
  }, 300_000)

  it('an unexpected error is one line with a hint; --debug adds its stack', async () => {
    const broken = join(dir, 'broken')
    await ferryOk(['--home', broken, 'init'])
    // a device key that cannot be read as a file: not an error ferry anticipates
    await rename(join(broken, 'device.key'), join(dir, 'device.key.moved'))
    await mkdir(join(broken, 'device.key'))
    const plain = await ferry(['--home', broken, 'id'])
    expect(plain.code).toBe(1)
    expect(plain.stderr).toMatch(/^ferry: unexpected error: .+ \(--debug shows where\)\n$/)
    for (const args of [['--debug', '--home', broken, 'id'], ['--home', broken, 'id', '--debug']]) {
      const debug = await ferry(args)
      expect(debug.code).toBe(1)
      expect(debug.stderr).toMatch(/^ferry: unexpected error: /)
      expect(debug.stderr).toMatch(/\n\s+at .+\n/)
    }
    // a FerryError stays one line with --debug too
    const known = await ferry(['--debug', '--home', join(dir, 'nowhere'), 'id'])
    expect(known.code).toBe(1)
    expect(known.stderr.trim().split('\n')).toHaveLength(1)
  }, 300_000)
})
