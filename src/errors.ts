/**
 * Base of every error ferry raises on purpose. `code` is stable (tests and scripts match on
 * it); `hint` tells a user what to do next. The message names the thing involved.
 */
export class FerryError extends Error {
  readonly code: string
  readonly hint?: string

  constructor (message: string, code: string, hint?: string) {
    super(message)
    this.name = new.target.name
    this.code = code
    if (hint !== undefined) this.hint = hint
  }
}
