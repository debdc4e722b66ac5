import { Counter, Gauge, type Registry } from 'prom-client'

/** label values -> the value now */
export type Samples = Array<[Record<string, string>, number]>

/**
 * A counter whose values are read at scrape time from a counter the code keeps anyway (bytes
 * per peer, frames...): nothing is threaded through the code to update it.
 */
export function scrapedCounter (registry: Registry, name: string, help: string, labelNames: string[], read: () => Samples): Counter {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect () {
      this.reset()
      for (const [labels, v] of read()) this.inc(labels, Math.max(0, v))
    }
  })
}

/** A gauge set at scrape time from `read`; series that are gone (a folder removed) disappear. */
export function scrapedGauge (registry: Registry, name: string, help: string, labelNames: string[], read: () => Samples): Gauge {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect () {
      this.reset()
      for (const [labels, v] of read()) this.set(labels, v)
    }
  })
}
