import { FerryError } from '../errors.ts'

/**
 * Type checks for JSON request bodies: a field of the wrong type is a 400 with a one-line
 * error naming it, never coerced (`{"readOnly":"yes"}` is not a read-only invitation, nor a
 * read-write one).
 */
export class BadRequestError extends FerryError {
  constructor (what: string) {
    super(`bad request: ${what}`, 'ERR_FERRY_BAD_REQUEST')
  }
}

export type Body = Record<string, unknown>

/** the body as an object; an absent body is an empty one */
export function bodyObject (body: unknown): Body {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('the body must be a JSON object')
  return body as Body
}

function show (v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 40 ? `${s.slice(0, 37)}...` : s
}

export function optionalString (b: Body, key: string, maxChars = 4096): string | undefined {
  const v = b[key]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v.length > maxChars) throw new BadRequestError(`${key} must be a string of at most ${maxChars} chars, not ${show(v)}`)
  return v
}

export function requiredString (b: Body, key: string, maxChars = 4096): string {
  const v = optionalString(b, key, maxChars)
  if (v === undefined) throw new BadRequestError(`${key} missing`)
  return v
}

export function optionalBoolean (b: Body, key: string): boolean | undefined {
  const v = b[key]
  if (v === undefined) return undefined
  if (typeof v !== 'boolean') throw new BadRequestError(`${key} must be true or false, not ${show(v)}`)
  return v
}

export function optionalInteger (b: Body, key: string, min: number, max: number): number | undefined {
  const v = b[key]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new BadRequestError(`${key} must be an integer from ${min} to ${max}, not ${show(v)}`)
  return v
}
