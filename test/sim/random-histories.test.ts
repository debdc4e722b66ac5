import { describe, expect, it } from 'vitest'
import { runScenario, type RunResult } from '../../sim/run-scenario.ts'

/**
 * Randomized multi-device runs of the real engine (sim/): edits, deletes, renames, dir/file
 * swaps, concurrent edits on isolated devices, partitions, crashes and restarts, with the
 * invariants checked at every settle. SIM_SEEDS (count) and SIM_STEPS run longer.
 */
const SEEDS = Number(process.env.SIM_SEEDS ?? 2)
const STEPS = Number(process.env.SIM_STEPS ?? 30)

function explain (r: RunResult): string {
  return `seed ${r.seed} failed (npm run sim -- --seed ${r.seed} ... -v to replay):\n${r.log.join('\n')}\n${r.error ?? ''}\n${Object.entries(r.deviceLogs ?? {}).map(([n, l]) => `--- ${n}\n${l.join('\n')}`).join('\n')}`
}

describe('real daemons on random histories (sim/)', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}: 3 devices and a relay, with partitions, crashes and restarts`, async () => {
      const r = await runScenario({ seed, devices: 3, steps: STEPS, relay: true })
      expect(r.ok, explain(r)).toBe(true)
    })
  }

  it('seed 101: 2 devices, edits and partitions only', async () => {
    const r = await runScenario({ seed: 101, devices: 2, steps: STEPS, crashes: false })
    expect(r.ok, explain(r)).toBe(true)
  })
})
