import { FerryError } from '../errors.ts'

/**
 * Text from peers and from config.json (device names, paths, a peer's error message) must not
 * steer the terminal it is printed on: a line break would forge output lines, an escape
 * sequence could rewrite the screen, a bidi control could reorder what is shown. Every text
 * formatter passes such fields through `printable()`; whole text output also goes through
 * `printableText()`, a net for a field a formatter forgot.
 */

// C0 controls, DEL, C1 controls (0x9b is a one-byte CSI on some terminals), zero-width and
// bidi controls, line/paragraph separators, word joiner and invisible operators, BOM
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/u
// eslint-disable-next-line no-control-regex
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'gu')
// eslint-disable-next-line no-control-regex
const UNPRINTABLE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/gu

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

function escape (c: string): string {
  const named = NAMED[c]
  if (named !== undefined) return named
  const code = c.codePointAt(0)!
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** One field for a text line: every control character shown as an escape (`\n`, `\x1b`, `\u202e`). */
export function printable (s: string): string {
  return s.replace(UNPRINTABLE_ALL, escape)
}

/** Whole text output: like `printable`, but the line breaks between lines stay. */
export function printableText (s: string): string {
  return s.replace(UNPRINTABLE_BUT_NEWLINE, escape)
}

export const MAX_DEVICE_NAME_CHARS = 64

/** A device name as given by the user (`device add --name`, `join --name`): one printable line. */
export function validateDeviceName (name: string): string {
  if (name.trim() === '') throw new FerryError('a device name cannot be empty', 'ERR_FERRY_BAD_DEVICE_NAME')
  if ([...name].length > MAX_DEVICE_NAME_CHARS) throw new FerryError(`a device name has at most ${MAX_DEVICE_NAME_CHARS} characters`, 'ERR_FERRY_BAD_DEVICE_NAME')
  if (UNPRINTABLE.test(name)) {
    throw new FerryError(`device name "${printable(name)}" has a control character (line break, escape or the like)`, 'ERR_FERRY_BAD_DEVICE_NAME', 'use letters, digits, spaces and punctuation')
  }
  return name
}
