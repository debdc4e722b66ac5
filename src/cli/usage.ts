import { FerryError } from '../errors.ts'

export class UsageError extends FerryError {
  constructor (message: string) { super(message, 'ERR_FERRY_USAGE', 'run `ferry --help`') }
}

/** exactly `count` positional arguments, or the command's usage line */
export function positionals (list: string[], count: number, usage: string): string[] {
  if (list.length !== count) throw new UsageError(`usage: ferry ${usage}`)
  return list
}
