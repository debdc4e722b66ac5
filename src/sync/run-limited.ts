/** `fn` over small and other items at once, each kind with its own limit */
export async function runLimitedBySize<T> (items: readonly T[], isSmall: (item: T) => boolean, limits: { small: number, other: number }, fn: (item: T) => Promise<void>): Promise<void> {
  const small = items.filter(isSmall)
  const rest = small.length === 0 ? items : items.filter(i => !isSmall(i))
  await Promise.all([runLimited(small, limits.small, fn), runLimited(rest, limits.other, fn)])
}

export async function runLimited<T> (items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  })
  await Promise.all(workers)
}
