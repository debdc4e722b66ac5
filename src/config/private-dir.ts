import { chmod, mkdir, stat } from 'node:fs/promises'
import { FerryError } from '../errors.ts'

/**
 * Makes `dir` (ferry's home: device key, API token, database) private to this user: created
 * 0700 when missing; an existing one that others may write or read is tightened to 0700, and
 * the old mode is returned (octal, e.g. '0777'). A home owned by another user, or one that is
 * not a directory, is refused: tightening someone else's directory is not ours
 * to do, and a directory another user controls could swap our key under us.
 */
export async function securePrivateDir (dir: string): Promise<string | undefined> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const st = await stat(dir)
  if (!st.isDirectory()) {
    throw new FerryError(`${dir} is not a directory`, 'ERR_FERRY_HOME_UNSAFE', 'give --home a directory of your own')
  }
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid) {
    throw new FerryError(`${dir} belongs to another user (uid ${st.uid})`, 'ERR_FERRY_HOME_UNSAFE', 'give --home a directory of your own')
  }
  const mode = st.mode & 0o777
  if ((mode & 0o077) === 0) return undefined
  await chmod(dir, 0o700)
  return '0' + mode.toString(8)
}
