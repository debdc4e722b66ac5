/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection (p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p
  } catch (err) {
    if (!(err instanceof Error)) throw new Error(`rejected with a non-Error: ${String(err)}`)
    return err as Error & { code?: string }
  }
  throw new Error('expected a rejection')
}

/** Polls a synchronous condition every 5 ms until it holds; throws after `ms`. */
export async function until (cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}
