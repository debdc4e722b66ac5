import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format'

/** A scrape parsed by a real Prometheus text-format parser, with lookups for tests. */
export class Scrape {
  readonly families: ParsedFamily[]

  constructor (text: string) {
    this.families = parsePrometheusTextFormat(text)
  }

  family (name: string): ParsedFamily | undefined {
    return this.families.find(f => f.name === name)
  }

  /** the sample of `name` whose labels include `labels`; undefined when there is none */
  value (name: string, labels: Record<string, string> = {}): number | undefined {
    const f = this.family(name)
    const s = f?.metrics.find(m => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    return s === undefined ? undefined : Number(s.value)
  }
}

/** GET `url`; the status and the parsed body (parsed only on 200) */
export async function scrape (url: string, headers: Record<string, string> = {}): Promise<{ status: number, contentType: string, scrape?: Scrape }> {
  const res = await fetch(url, { headers })
  const text = await res.text()
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', ...(res.status === 200 ? { scrape: new Scrape(text) } : {}) }
}
