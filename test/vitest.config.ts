import { resolve } from 'node:path'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  root: resolve(import.meta.dirname, '..'),
  test: {
    include: ['test/**/*.test.ts'],
    // above the helpers' own waits (waitConverged: up to 120 s), so a stall fails with its logs
    testTimeout: 150_000,
    hookTimeout: 60_000,
    // integration tests spawn real daemons; keep the 2-core machine from thrashing
    maxWorkers: 2,
    fileParallelism: true
  }
})
