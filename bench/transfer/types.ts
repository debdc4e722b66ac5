import type { ProcFigures } from './proc-stats.ts'
import type { WireBytes } from './sockets.ts'

export interface BenchConfig {
  /** size of the big file (S1, S3, S4, S6, S7) */
  size: number
  scenarios: Set<string>
  /** per timed step */
  timeoutMs: number
  /** status polling interval while waiting for completion */
  pollMs: number
  /** S5 tries */
  s5Reps: number
}

export interface Latency { reps: number, p50Ms: number, p95Ms: number, minMs: number, maxMs: number, samplesMs: number[] }

/** one tool's result for one scenario */
export interface ScenarioResult {
  scenario: string
  tool: string
  ok: boolean
  error?: string
  skipped?: string
  /** wall time from the change (or the command start) until the receiver holds the result */
  timeS?: number
  /** logical bytes the scenario is about (the changed file's size, the tree's bytes): MB/s = fileBytes / timeS */
  fileBytes?: number
  mbps?: number
  /** kernel socket counters per side (A = sender, B = receiver) */
  wire?: Record<string, WireBytes>
  /** the tool's own byte counter (ferry: status receivedBytes; rsync: --stats; Syncthing: REST connections) */
  counter?: { what: string, receivedB: number, sentB?: number }
  procs?: Record<string, ProcFigures>
  verified?: boolean
  latency?: Latency
  details?: Record<string, unknown>
}

export interface ToolRun {
  tool: string
  version?: string
  skipped?: string
  notes: string[]
  results: ScenarioResult[]
}
