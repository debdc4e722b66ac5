/**
 * Version vectors: device id -> counter. A device bumps its own entry (to its next
 * log sequence number, so a counter is never reused) whenever it changes a path.
 */
export type VersionVector = Readonly<Record<string, number>>

export type Ordering = 'equal' | 'greater' | 'lesser' | 'concurrent'

/** How `a` relates to `b`: 'greater' means a dominates b (a has seen everything b has). */
export function compareVersions (a: VersionVector, b: VersionVector): Ordering {
  // hot path of the planner: plain loops, no allocation
  let aAhead = false
  let bAhead = false
  for (const device in a) {
    if (!Object.hasOwn(a, device)) continue
    const counter = a[device]!
    const other = Object.hasOwn(b, device) ? b[device]! : 0
    if (counter > other) aAhead = true
    else if (counter < other) bAhead = true
  }
  if (!bAhead) {
    for (const device in b) {
      if (Object.hasOwn(b, device) && !Object.hasOwn(a, device) && b[device]! > 0) { bAhead = true; break }
    }
  }
  if (aAhead && bAhead) return 'concurrent'
  if (aAhead) return 'greater'
  if (bAhead) return 'lesser'
  return 'equal'
}

/** The smallest vector that dominates or equals both. */
export function mergeVersions (a: VersionVector, b: VersionVector): VersionVector {
  const out = new Map(Object.entries(a))
  for (const [device, counter] of Object.entries(b)) {
    out.set(device, Math.max(out.get(device) ?? 0, counter))
  }
  return Object.fromEntries(out)
}

/** `v` with `device`'s entry set to `counter`, which must exceed the current one. */
export function bumpVersion (v: VersionVector, device: string, counter: number): VersionVector {
  if ((v[device] ?? 0) >= counter) {
    throw new RangeError(`version counter for ${device} must grow: ${v[device] ?? 0} -> ${counter}`)
  }
  return { ...v, [device]: counter }
}

/** True when a dominates b strictly. */
export function dominates (a: VersionVector, b: VersionVector): boolean {
  return compareVersions(a, b) === 'greater'
}
