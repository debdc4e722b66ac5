import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { ferry, ferryOk, Lab, REPO, waitFor, type Device, type FerryLauncher } from '../helpers/ferry-process.ts'
import { HAVE_SYSTEMD_ANALYZE, verifyUnits } from '../helpers/systemd-verify.ts'

const PACKAGE = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string, engines: { node: string } }

/** the oldest Node ferry says it runs on: engines '>=22.10' -> '22.10' (npm takes its newest patch) */
const OLDEST_NODE = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(PACKAGE.engines.node)?.[1]

/** npm's own variables from an enclosing `npm test` (the package and prefix it runs for) stay out of the npm run here */
function cleanEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(lifecycle|package)_|^npm_config_(local_|global_)?prefix$|^INIT_CWD$/i.test(k)))
  return { ...env, ...extra }
}

async function run (command: string, args: string[], opts: { cwd: string, env?: NodeJS.ProcessEnv }): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(command, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv(), maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${command} ${args.join(' ')} failed (${String(err.code)}):\n${stderr}\n${stdout}`))
      else resolve(stdout)
    })
  })
}

/**
 * A Node binary of `version` from the npm registry (the `node` package), kept under the temp
 * directory by version so that reruns skip the download. Installed next to the cache entry and
 * renamed into place, so a concurrent or interrupted run never leaves a half-made one.
 */
async function nodeFromRegistry (version: string): Promise<string> {
  const cache = join(tmpdir(), `ferry-test-node-${version}`)
  const bin = join(cache, 'node_modules/node/bin/node')
  if (!existsSync(bin)) {
    const partial = `${cache}.${process.pid}.partial`
    await rm(partial, { recursive: true, force: true })
    await mkdir(partial)
    await run('npm', ['install', '--prefix', partial, '--no-audit', '--no-fund', '--no-save', `node@${version}`], { cwd: partial })
    await rename(partial, cache).catch(async () => { await rm(partial, { recursive: true, force: true }) })
  }
  return bin
}

/**
 * `npm pack` of this repo, installed with `npm install -g --prefix` on the oldest Node ferry
 * supports, run from outside the repo: the published package works on its own.
 */
describe('installed package', () => {
  let dir: string
  let launcher: FerryLauncher
  let installed: string
  let node: string
  let lab: Lab

  beforeAll(async () => {
    expect(OLDEST_NODE, `engines.node is not of the form >=X.Y: ${PACKAGE.engines.node}`).toBeDefined()
    dir = await mkdtemp(join(tmpdir(), `ferry-install-${process.pid}-`))
    node = await nodeFromRegistry(OLDEST_NODE!)
    const env = cleanEnv({ PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` })
    const packed = join(dir, 'packed')
    await mkdir(packed)
    await run('npm', ['pack', '--pack-destination', packed], { cwd: REPO })
    const [tarball] = (await readdir(packed)).filter(f => f.endsWith('.tgz'))
    expect(tarball).toBeDefined()
    const prefix = join(dir, 'prefix')
    await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(packed, tarball!)], { cwd: dir, env })
    installed = join(prefix, 'lib/node_modules/ferry')
    const outside = join(dir, 'elsewhere')
    await mkdir(outside)
    launcher = { command: join(prefix, 'bin/ferry'), prefix: [], env: { PATH: env.PATH! }, cwd: outside }
    lab = new Lab(launcher)
    await lab.setup()
  }, 900_000)
  afterAll(async () => {
    await lab?.cleanup()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it(`runs on Node ${OLDEST_NODE ?? '?'} from the compiled code only, with no dev dependency installed`, async () => {
    expect((await run(node, ['--version'], { cwd: dir })).trim()).toMatch(new RegExp(`^v${OLDEST_NODE!.replaceAll('.', '\\.')}\\.`))
    expect(existsSync(join(installed, 'dist/src/cli/main.js'))).toBe(true)
    expect(existsSync(join(installed, 'src/cli/main.ts'))).toBe(false)
    expect(existsSync(join(installed, 'packaging/systemd/ferry.service'))).toBe(true)
    for (const dev of ['typescript', 'vitest', 'fast-check', 'node']) expect(existsSync(join(installed, 'node_modules', dev)), dev).toBe(false)
    expect((await ferryOk(['--version'], launcher)).trim()).toBe(PACKAGE.version)
  })

  it('init, and two devices sync a file', async () => {
    const init = await ferry(['--home', join(dir, 'solo'), 'init'], {}, launcher)
    expect(init.code).toBe(0)
    expect(init.stdout.trim().split('\n').at(-1)).toMatch(/^12D3KooW/)

    const a: Device = await lab.device('a')
    const b: Device = await lab.device('b')
    await lab.pair(a, b)
    await lab.start(a)
    await lab.start(b)
    await writeFile(join(a.folder, 'hello.txt'), 'from an installed ferry\n')
    await waitFor('hello.txt on b', async () => await readFile(join(b.folder, 'hello.txt'), 'utf8').catch(() => '') === 'from an installed ferry\n', 60_000)
  })

  it('service install writes a unit that runs the installed ferry on this Node', async () => {
    const unitDir = join(dir, 'units')
    await ferryOk(['--home', join(dir, 'solo'), 'service', 'install', '--unit-dir', unitDir], launcher)
    const unit = await readFile(join(unitDir, 'ferry.service'), 'utf8')
    expect(unit).toContain(`ExecStart=${node} `)
    expect(unit).toContain(` ${join(installed, 'src/cli/ferry.js')} --home ${join(dir, 'solo')} start\n`)
    if (HAVE_SYSTEMD_ANALYZE) expect(await verifyUnits([join(unitDir, 'ferry.service')])).toBe('')
  })
})
