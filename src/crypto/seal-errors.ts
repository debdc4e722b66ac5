import { FerryError } from '../errors.ts'

/** Sealed bytes that do not open: wrong key, altered ciphertext, or a plaintext of another hash. */
export class SealOpenError extends FerryError {
  constructor (what: string) {
    super(`sealed ${what} does not open (altered, or sealed with another key)`, 'ERR_FERRY_SEAL_OPEN')
  }
}
