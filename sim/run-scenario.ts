import { describeOp, scenario, type ScenarioOptions } from './scenario.ts'
import { SimWorld, type WorldOptions } from './sim-world.ts'

export interface RunOptions extends ScenarioOptions, Omit<WorldOptions, 'devices' | 'seed'> {
  /** told of each operation as it is applied */
  onStep?: (line: string) => void
}

export interface RunResult {
  seed: number
  ok: boolean
  steps: number
  /** one line per operation applied: what it was and what happened */
  log: string[]
  /** the failure, if any: invariant violations or what the devices were waiting for */
  error?: string
  /** each device's last log lines, on failure */
  deviceLogs?: Record<string, string[]>
  files: number
  ms: number
}

/** One seeded run: a world, the scenario's operations in order, and the invariants at each settle. */
export async function runScenario (opts: RunOptions): Promise<RunResult> {
  const started = Date.now()
  const ops = scenario(opts)
  const world = await SimWorld.create({ ...opts, devices: opts.devices })
  const log: string[] = []
  let error: string | undefined
  let files = 0
  try {
    for (const [i, op] of ops.entries()) {
      const line = `${String(i).padStart(4)} ${describeOp(op)}: ${await world.apply(op)}`
      log.push(line)
      opts.onStep?.(line)
    }
    files = [...(await world.trees())[0]!.values()].length
  } catch (err) {
    error = (err as Error).message
  }
  const deviceLogs = error === undefined ? undefined : Object.fromEntries(world.nodes.map(d => [d.name, d.lines.slice(-30)]))
  await world.close()
  return { seed: opts.seed, ok: error === undefined, steps: ops.length, log, files, ms: Date.now() - started, ...(error === undefined ? {} : { error }), ...(deviceLogs === undefined ? {} : { deviceLogs }) }
}
