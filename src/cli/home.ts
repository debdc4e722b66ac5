import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/** --home, else $FERRY_HOME, else ~/.ferry */
export function resolveHome (flag: string | undefined): string {
  if (flag !== undefined && flag !== '') return resolve(flag)
  const env = process.env.FERRY_HOME
  if (env !== undefined && env !== '') return resolve(env)
  return join(homedir(), '.ferry')
}
