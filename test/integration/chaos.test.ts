/**
 * Chaos: two devices and their relay, all real processes, under random creates, overwrites,
 * appends, renames (files and directories), deletes, and SIGKILLs and restarts of any of the
 * three (also while a few-MiB file is in transfer). Then everything runs again, and:
 *  - the devices converge;
 *  - no file was ever seen partially: a checker reads files on both devices all along, and every
 *    file under a real name holds one complete version some writer wrote (contents are
 *    self-describing: a header with a version id, the writer, the length and hash of the body);
 *  - no version is lost. A version written on device D that D itself never replaced or deleted
 *    (only the other device did, or nobody) is still held somewhere: as the content of a path,
 *    as a conflict copy, or in a device's trash (`.ferry/trash`). A version D replaced or deleted
 *    itself may be gone as content (ferry keeps a user's own overwrites only where they had
 *    synced to), but if D had recorded it (seen in `ferry revisions` before the change; the test
 *    waits for that while D runs), its record is still in D's history.
 *
 * Environment: CHAOS_SEED=<integer> replays a run's choices (the seed is printed; timing still
 * differs), CHAOS_SECONDS=<n> sets how long the chaos lasts (default 180).
 * FERRY_TEST_LOGS=<dir> keeps the daemons' logs. On failure the seed, the operation log and
 * where the logs are is printed.
 */
import { describe, it, expect, onTestFinished } from 'vitest'
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises'
import { randomInt } from 'node:crypto'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { waitConverged, waitFor, type Device } from '../helpers/ferry-process.ts'
import { useRelay, useRelayLabs } from '../helpers/relay-process.ts'
import { Prng, encodeVersion } from '../helpers/chaos-content.ts'
import { ChaosProc, disableDeleteProtection, hasRecord, listFolder, readVersion, transfersOn, versionsUnder } from '../helpers/chaos-lab.ts'

const SEED = process.env.CHAOS_SEED !== undefined ? Number(process.env.CHAOS_SEED) : randomInt(2 ** 31)
const CHAOS_MS = Number(process.env.CHAOS_SECONDS ?? 180) * 1000
const COMMIT_WAIT_MS = 30_000

interface Version {
  id: string
  writer: string
  /** the paths it had on its writer (a rename there adds one) */
  paths: string[]
  size: number
  mtimeMs: number
  /** its writer replaced or deleted it (a user's own change) */
  supersededByWriter: boolean
  /** its writer's daemon was seen to record it */
  recorded: boolean
}

describe('chaos', () => {
  const env = useRelayLabs()

  it(`two devices and a relay under random changes, kills and restarts converge, never show a partial file and lose no version (CHAOS_SEED=${SEED})`, async () => {
    const { lab, relays } = env
    console.log(`chaos: CHAOS_SEED=${SEED} CHAOS_SECONDS=${CHAOS_MS / 1000}`)
    const rnd = new Prng(SEED)
    const opLog: string[] = []
    let t0 = Date.now()
    const note = (line: string): void => { opLog.push(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s ${line}`) }
    const scratch = await mkdtemp(join(tmpdir(), 'ferry-chaos-scratch-'))
    onTestFinished(async () => { await rm(scratch, { recursive: true, force: true }) })
    const versions = new Map<string, Version>()
    const torn: string[] = []
    let seq = 0
    let stopChecker = false

    const r = await relays.relay('relay')
    const a = await lab.device('a')
    const b = await lab.device('b')
    await lab.pair(a, b)
    await useRelay(a, r)
    await useRelay(b, r)
    for (const d of [a, b]) await disableDeleteProtection(d)
    await Promise.all([lab.start(a), lab.start(b)])
    const procA = new ChaosProc('a', lab, a)
    const procB = new ChaosProc('b', lab, b)
    const procR = new ChaosProc('relay', relays, r)
    const procs = [procA, procB, procR]
    const devices: Array<[ChaosProc, Device]> = [[procA, a], [procB, b]]

    // the operation log (and the relay's output) is kept on failure, a timeout included, or always with FERRY_TEST_LOGS
    const opsFile = join(process.env.FERRY_TEST_LOGS ?? tmpdir(), `ferry-chaos-${SEED}-${process.pid}.ops.log`)
    const logsAt = process.env.FERRY_TEST_LOGS !== undefined ? `daemon logs in ${process.env.FERRY_TEST_LOGS}` : 'set FERRY_TEST_LOGS=<dir> to keep the daemon logs'
    onTestFinished(async ({ task }) => {
      const failed = task.result?.state === 'fail'
      if (!failed && process.env.FERRY_TEST_LOGS === undefined) return
      await mkdir(dirname(opsFile), { recursive: true })
      await writeFile(opsFile, opLog.join('\n') + `\n=== relay\n${[...procR.oldLogs, r.log].join('\n--- restart\n')}\n`)
      if (failed) console.error(`chaos failed (CHAOS_SEED=${SEED}): operation log in ${opsFile}; ${logsAt}`)
    })
    const fail = async (what: string): Promise<never> => {
      throw new Error(`chaos failed (CHAOS_SEED=${SEED}): ${what}\noperation log: ${opsFile} (last 60 lines below); ${logsAt}\n${opLog.slice(-60).join('\n')}`)
    }

    /** before its writer replaces `path`, the version there is marked (its record waited for while it runs) */
    const supersede = async (proc: ChaosProc, d: Device, path: string): Promise<void> => {
      const found = await readVersion(join(d.folder, path))
      if (found === undefined || 'error' in found || found.header.writer !== d.name) return
      const v = versions.get(found.header.id)
      if (v === undefined || v.supersededByWriter) return
      v.supersededByWriter = true
      if (!v.recorded && proc.state !== 'down') {
        await waitFor(`${d.name} records ${v.id}`, async () => await hasRecord(d, v.paths, v.size, v.mtimeMs), COMMIT_WAIT_MS)
          .then(() => { v.recorded = true }, () => note(`  (${v.id} not seen recorded in ${COMMIT_WAIT_MS} ms)`))
      }
    }

    const writeVersion = async (proc: ChaosProc, d: Device, path: string, body: Buffer): Promise<string> => {
      const id = `${d.name}${++seq}`
      const data = encodeVersion(id, d.name, body)
      const tmp = join(scratch, id)
      await writeFile(tmp, data)
      await mkdir(dirname(join(d.folder, path)), { recursive: true })
      await supersede(proc, d, path)
      // (the rename keeps the mtime)
      versions.set(id, { id, writer: d.name, paths: [path], size: data.length, mtimeMs: (await stat(tmp)).mtimeMs, supersededByWriter: false, recorded: false })
      await rename(tmp, join(d.folder, path)) // whole versions only, as an editor's save does
      return id
    }

    // files are f*.txt or big*.bin, directories d*: a file and a directory never want one name
    const newName = (kind: 'f' | 'd', dirs: string[]): string => {
      const roll = rnd.next()
      const parent = roll < 0.35 || (dirs.length === 0 && roll < 0.75) ? '' : roll < 0.75 ? `${rnd.pick(dirs)}/` : `${dirs.length > 0 && rnd.chance(0.5) ? `${rnd.pick(dirs)}/` : ''}d${rnd.int(0, 99999)}/`
      return kind === 'f' ? `${parent}f${rnd.int(0, 99999)}.txt` : `${parent}d${rnd.int(0, 99999)}`
    }

    const operate = async (proc: ChaosProc, d: Device): Promise<void> => {
      const entries = await listFolder(d.folder)
      const files = entries.filter(e => !e.dir).map(e => e.path)
      const dirs = entries.filter(e => e.dir && e.path.split('/').length < 3).map(e => e.path)
      const roll = rnd.next()
      const at = `${d.name}${proc.state === 'up' ? '' : ` (${proc.state})`}`
      if (roll < 0.27 || files.length < 4) {
        const path = newName('f', dirs)
        note(`${at}: create ${path} ${await writeVersion(proc, d, path, rnd.bytes(rnd.int(0, 20_000)))}`)
      } else if (roll < 0.47) {
        const path = rnd.pick(files)
        note(`${at}: overwrite ${path} ${await writeVersion(proc, d, path, rnd.bytes(rnd.int(0, 20_000)))}`)
      } else if (roll < 0.57) {
        const path = rnd.pick(files)
        const old = await readVersion(join(d.folder, path))
        const body = old !== undefined && !('error' in old) ? old.body : Buffer.alloc(0)
        note(`${at}: append to ${path} ${await writeVersion(proc, d, path, Buffer.concat([body, rnd.bytes(rnd.int(1, 4000))]))}`)
      } else if (roll < 0.67) {
        const from = rnd.pick(files)
        const to = newName('f', dirs)
        const v = await readVersion(join(d.folder, from))
        await mkdir(dirname(join(d.folder, to)), { recursive: true })
        await supersede(proc, d, to) // a rename onto a file replaces it
        await rename(join(d.folder, from), join(d.folder, to))
        if (v !== undefined && !('error' in v)) versions.get(v.header.id)?.paths.push(to)
        note(`${at}: rename ${from} -> ${to}`)
      } else if (roll < 0.72 && dirs.length > 0) {
        const from = rnd.pick(dirs)
        const to = newName('d', dirs.filter(x => x !== from && !x.startsWith(`${from}/`)))
        const moved = (await listFolder(d.folder, from)).filter(e => !e.dir)
        await mkdir(dirname(join(d.folder, to)), { recursive: true })
        await rename(join(d.folder, from), join(d.folder, to))
        for (const e of moved) {
          const v = await readVersion(join(d.folder, to, e.path.slice(from.length + 1)))
          if (v !== undefined && !('error' in v)) versions.get(v.header.id)?.paths.push(`${to}/${e.path.slice(from.length + 1)}`)
        }
        note(`${at}: rename dir ${from} -> ${to} (${moved.length} files)`)
      } else if (roll < 0.82 && files.length >= 12) {
        // a few at a time: never near a third of the folder
        const n = Math.min(rnd.int(1, 3), Math.floor(files.length / 4))
        const doomed = new Set(Array.from({ length: n }, () => rnd.pick(files)))
        for (const p of doomed) {
          await supersede(proc, d, p)
          await rm(join(d.folder, p), { force: true })
        }
        note(`${at}: delete ${[...doomed].join(' ')}`)
      } else if (roll < 0.85 && dirs.length > 0 && files.length >= 12) {
        const dir = rnd.pick(dirs)
        const inside = (await listFolder(d.folder, dir)).filter(e => !e.dir)
        if (inside.length * 4 > files.length) return
        for (const e of inside) await supersede(proc, d, e.path)
        await rm(join(d.folder, dir), { recursive: true, force: true })
        note(`${at}: delete dir ${dir} (${inside.length} files)`)
      } else if (roll < 0.91) {
        const path = rnd.chance(0.5) && files.some(f => f.startsWith('big')) ? rnd.pick(files.filter(f => f.startsWith('big'))) : `big${rnd.int(0, 9)}.bin`
        note(`${at}: write big ${path} ${await writeVersion(proc, d, path, rnd.bytes(rnd.int(2, 5) * 1024 * 1024 + rnd.int(0, 4096)))}`)
        const other = d === a ? b : a
        if (proc.state === 'up' && rnd.chance(0.6)) {
          // kill someone while the big file is on its way
          await waitFor('a transfer', async () => await transfersOn(other) > 0, 8_000).catch(() => {})
          const victim = rnd.pick(procs.filter(p => p.state === 'up'))
          if (victim !== undefined) await kill(victim, `mid-transfer (${await transfersOn(other)} transfers on ${other.name})`)
        }
      } else if (roll < 0.97) {
        const up = procs.filter(p => p.state === 'up')
        if (up.length > 0) await kill(rnd.pick(up), 'at random')
      } else {
        await new Promise(resolve => setTimeout(resolve, rnd.int(0, 1500)))
      }
    }

    const kill = async (p: ChaosProc, why: string): Promise<void> => {
      await p.kill()
      p.restartAt = Date.now() + rnd.int(300, 6000)
      note(`SIGKILL ${p.name} ${why}`)
    }

    const checker = (async () => {
      const pick = new Prng(SEED ^ 0x5eed)
      while (!stopChecker) {
        for (const [, d] of devices) {
          const files = (await listFolder(d.folder)).filter(e => !e.dir)
          for (let i = 0; i < 4 && files.length > 0; i++) {
            const path = pick.pick(files).path
            const v = await readVersion(join(d.folder, path))
            if (v === undefined) continue
            if ('error' in v) torn.push(`${d.name}:${path}: ${v.error}`)
            else if (!versions.has(v.header.id)) torn.push(`${d.name}:${path}: version ${v.header.id} was never written`)
          }
        }
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    })()

    try {
      t0 = Date.now()
      note('chaos starts')
      const end = Date.now() + CHAOS_MS
      while (Date.now() < end) {
        for (const p of procs) {
          if (p.failed !== undefined) {
            // nothing kills a process while it starts: it exited by itself
            note(`${p.name} did not start: ${p.failed.message.slice(0, 2000)}`)
            await fail(`${p.name} exited while starting after a kill: ${p.failed.message.slice(0, 4000)}`)
          }
          if (p.state === 'down' && Date.now() >= p.restartAt) { p.start(); note(`restart ${p.name}`) }
        }
        const [proc, d] = rnd.pick(devices)
        try {
          await operate(proc, d)
        } catch (err) {
          // a path the sync changed under us (gone, or a directory now): that operation is skipped
          note(`${d.name}: skipped: ${(err as Error).message}`)
        }
        await new Promise(resolve => setTimeout(resolve, rnd.int(20, 400)))
        if (torn.length > 0) break
      }
    } finally {
      stopChecker = true
      await checker
    }
    if (torn.length > 0) await fail(`a file was seen partially or with content nobody wrote:\n${torn.join('\n')}`)

    note('chaos over: everything runs again')
    for (const p of procs) p.start()
    try {
      await Promise.all(procs.map(async p => { await p.settled() }))
    } catch (err) {
      await fail(`a process did not start again: ${(err as Error).message.slice(0, 4000)}`)
    }
    let converged: Map<string, string>
    try {
      converged = await waitConverged([a, b], 300_000)
    } catch (err) {
      return await fail(`no convergence: ${(err as Error).message.slice(0, 4000)}`)
    }
    note(`converged: ${converged.size} entries`)

    // where every version is now: the folders (paths and conflict copies) and the trashes
    const held = new Map<string, string>()
    const bad: string[] = []
    for (const d of [a, b]) {
      for (const [root, where] of [[d.folder, ''], [join(d.folder, '.ferry', 'trash'), 'trash:']] as const) {
        const found = await versionsUnder(root)
        bad.push(...found.bad.map(x => `${d.name}:${where}${x}`))
        for (const [id, p] of found.ids) if (!held.has(id)) held.set(id, `${d.name}:${where}${p}`)
      }
    }
    if (bad.length > 0) await fail(`files (or trash files) that are not whole versions:\n${bad.join('\n')}`)
    const lost: string[] = []
    let recordOnly = 0
    let neverRecorded = 0
    for (const v of versions.values()) {
      if (held.has(v.id)) continue
      const writer = v.writer === 'a' ? a : b
      if (!v.supersededByWriter) {
        lost.push(`${v.id} (written on ${v.writer} at ${v.paths.join(' -> ')}, never replaced there by its writer): content nowhere`)
      } else if (await hasRecord(writer, v.paths, v.size, v.mtimeMs)) {
        recordOnly++
      } else if (v.recorded) {
        lost.push(`${v.id} (${v.paths.join(' -> ')}): ${v.writer} had recorded it, its history no longer has it`)
      } else {
        neverRecorded++
      }
    }
    const summary = `${versions.size} versions written; ${versions.size - lost.length - recordOnly - neverRecorded} held as content, ${recordOnly} replaced by their writer and kept as records only, ${neverRecorded} replaced by their writer before it recorded them (writer down)`
    note(summary)
    console.log(`chaos (CHAOS_SEED=${SEED}): ${opLog.length} log lines; ${summary}`)
    if (lost.length > 0) await fail(`versions lost:\n${lost.join('\n')}`)
    expect(lost).toEqual([])
    expect(torn).toEqual([])
  }, CHAOS_MS + 480_000) // set-up, the last commit waits and convergence (300 s bound) on a loaded machine
})
