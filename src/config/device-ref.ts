import { FerryError } from '../errors.ts'
import { isDeviceId } from './check-config.ts'
import type { Config } from './config.ts'

/** shortest id prefix taken as a device reference (ids start with the same "12D3KooW") */
export const MIN_ID_PREFIX_CHARS = 10

/**
 * The device id a user means by `ref` on the command line: a full device id, a device name (as
 * in config `devices[id].name`), or a unique prefix of a known id (at least
 * MIN_ID_PREFIX_CHARS characters). Known ids are the trusted devices and every folder's
 * members. A full id that is not known is returned as it is (the caller says what is missing);
 * an unknown or ambiguous reference is a one-line error with a hint.
 */
export function resolveDeviceRef (config: Config, ref: string): string {
  const known = new Set([...Object.keys(config.devices), ...Object.values(config.folders).flatMap(f => Object.keys(f.members))])
  if (known.has(ref)) return ref
  const named = Object.entries(config.devices).filter(([, d]) => d.name === ref).map(([id]) => id)
  if (named.length === 1) return named[0]!
  if (named.length > 1) throw ambiguous(ref, named, 'name')
  const full: unknown = ref
  if (isDeviceId(full)) return full
  const prefixed = ref.length >= MIN_ID_PREFIX_CHARS ? [...known].filter(id => id.startsWith(ref)) : []
  if (prefixed.length === 1) return prefixed[0]!
  if (prefixed.length > 1) throw ambiguous(ref, prefixed, 'id prefix')
  throw new FerryError(`no device ${JSON.stringify(ref)}`, 'ERR_FERRY_DEVICE_NOT_FOUND', `give a device name, an id, or at least ${MIN_ID_PREFIX_CHARS} characters of one; \`ferry device list\` shows them`)
}

function ambiguous (ref: string, ids: string[], what: string): FerryError {
  return new FerryError(`${what} ${JSON.stringify(ref)} matches ${ids.length} devices: ${ids.join(', ')}`, 'ERR_FERRY_AMBIGUOUS_DEVICE', 'give the full device id')
}
