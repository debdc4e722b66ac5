// Runs one seeded simulation of real ferry daemons in this process: `npm run sim -- --seed 42
// --devices 3 --relay --steps 200`. See sim/README.md.
import { parseArgs } from 'node:util'
import { runScenario } from './run-scenario.ts'

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    seeds: { type: 'string', default: '1' },
    devices: { type: 'string', default: '3' },
    steps: { type: 'string', default: '60' },
    relay: { type: 'boolean', default: false },
    'no-crashes': { type: 'boolean', default: false },
    'no-partitions': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false }
  }
})

const first = Number(values.seed)
let failed = 0
for (let seed = first; seed < first + Number(values.seeds); seed++) {
  const result = await runScenario({
    seed,
    devices: Number(values.devices),
    steps: Number(values.steps),
    relay: values.relay,
    crashes: !values['no-crashes'],
    partitions: !values['no-partitions'],
    keep: values.keep,
    ...(values.verbose ? { onStep: (line: string) => { console.log(line) } } : {})
  })
  if (result.ok) {
    console.log(`seed ${seed}: ok (${result.steps} ops, ${Number(values.devices)} devices${values.relay ? ' + relay' : ''}, ${result.files} entries, ${(result.ms / 1000).toFixed(1)} s)`)
    continue
  }
  failed++
  console.log(`seed ${seed}: FAILED after ${result.log.length} of ${result.steps} ops (${(result.ms / 1000).toFixed(1)} s)`)
  console.log('operations:')
  for (const line of result.log) console.log(line)
  console.log(`failure: ${result.error ?? ''}`)
  for (const [name, lines] of Object.entries(result.deviceLogs ?? {})) console.log(`--- ${name} (last lines)\n${lines.join('\n')}`)
}
process.exitCode = failed > 0 ? 1 : 0
