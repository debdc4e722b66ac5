/**
 * Seeded scenarios: the list of operations a simulation applies is a pure function of
 * (seed, options). What the devices make of them depends on timing; what is done does not.
 */

/** mulberry32: a small seeded PRNG, enough to pick operations (not for anything secret) */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type SimOp =
  /** the user writes `content` at `path` (creating parent directories; skipped under a file) */
  | { kind: 'write', device: number, path: string, content: string }
  /** the user removes `path` (a directory with everything in it) */
  | { kind: 'delete', device: number, path: string }
  | { kind: 'rename', device: number, from: string, to: string }
  /** a file becomes a directory holding `content` at `path/inner`, or a directory becomes a file holding it */
  | { kind: 'swap', device: number, path: string, content: string }
  /** the device leaves the network (its connections drop) / comes back */
  | { kind: 'isolate', device: number }
  | { kind: 'heal', device: number }
  /** the device's daemon dies abruptly / a fresh daemon starts on the same home and folder */
  | { kind: 'crash', device: number }
  | { kind: 'restart', device: number }
  /** everything healed and restarted, the harness waits until all agree, and checks the invariants */
  | { kind: 'settle' }

export interface ScenarioOptions {
  seed: number
  devices: number
  steps: number
  /** allow crash/restart operations (default true) */
  crashes?: boolean
  /** allow isolate/heal operations (default true) */
  partitions?: boolean
}

/** a few names, nested, so that edits collide and directories are replaced by files and back */
export const SIM_PATHS = ['a.txt', 'b.txt', 'd/x.txt', 'd/y.txt', 'd/e/z.txt', 'f']
export const SIM_SWAP_PATHS = ['d', 'f', 'a.txt']
export const SWAP_INNER = 'inner.txt'

/** The operations of one run: at most `steps` user and network operations, then a final settle. */
export function scenario (opts: ScenarioOptions): SimOp[] {
  const rand = prng(opts.seed)
  const int = (n: number): number => Math.floor(rand() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!
  const crashes = opts.crashes ?? true
  const partitions = opts.partitions ?? true
  const down = new Set<number>()
  const isolated = new Set<number>()
  const ops: SimOp[] = []
  let n = 0
  const content = (device: number): string => `seed ${opts.seed} op ${n++} device ${device}\n${'.'.repeat(int(3) * 40)}`
  while (ops.length < opts.steps) {
    const device = int(opts.devices)
    const r = rand()
    if (r < 0.30) {
      ops.push({ kind: 'write', device, path: pick(SIM_PATHS), content: content(device) })
    } else if (r < 0.40) {
      ops.push({ kind: 'delete', device, path: pick([...SIM_PATHS, 'd']) })
    } else if (r < 0.47) {
      const from = pick(SIM_PATHS)
      const to = pick(SIM_PATHS.filter(p => p !== from))
      ops.push({ kind: 'rename', device, from, to })
    } else if (r < 0.53) {
      ops.push({ kind: 'swap', device, path: pick(SIM_SWAP_PATHS), content: content(device) })
    } else if (r < 0.63 && opts.devices > 1) {
      // concurrent edits: two devices change one path while apart
      const other = (device + 1 + int(opts.devices - 1)) % opts.devices
      const path = pick(SIM_PATHS)
      if (!isolated.has(device)) ops.push({ kind: 'isolate', device })
      ops.push({ kind: 'write', device, path, content: content(device) })
      ops.push({ kind: 'write', device: other, path, content: content(other) })
      if (!isolated.has(device)) ops.push({ kind: 'heal', device })
    } else if (r < 0.73 && partitions) {
      if (isolated.has(device)) { isolated.delete(device); ops.push({ kind: 'heal', device }) } else { isolated.add(device); ops.push({ kind: 'isolate', device }) }
    } else if (r < 0.81 && crashes) {
      if (down.has(device)) { down.delete(device); ops.push({ kind: 'restart', device }) } else { down.add(device); ops.push({ kind: 'crash', device }) }
    } else if (r < 0.86) {
      down.clear()
      isolated.clear()
      ops.push({ kind: 'settle' })
    } else {
      // a burst of edits on one device, then a write elsewhere
      ops.push({ kind: 'write', device, path: pick(SIM_PATHS), content: content(device) })
      ops.push({ kind: 'write', device, path: pick(SIM_PATHS), content: content(device) })
    }
  }
  ops.push({ kind: 'settle' })
  return ops
}

export function describeOp (op: SimOp): string {
  switch (op.kind) {
    case 'write': return `d${op.device} write ${op.path} (${JSON.stringify(op.content.split('\n')[0])})`
    case 'delete': return `d${op.device} delete ${op.path}`
    case 'rename': return `d${op.device} rename ${op.from} -> ${op.to}`
    case 'swap': return `d${op.device} swap ${op.path} (${JSON.stringify(op.content.split('\n')[0])})`
    case 'settle': return 'settle'
    default: return `d${op.device} ${op.kind}`
  }
}
