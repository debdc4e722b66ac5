import type { ClassicLevel } from 'classic-level'
import { FerryError } from '../errors.ts'

/** Opens the daemon's database; held by another process: ERR_FERRY_DB_LOCKED. */
export async function openDatabase (db: ClassicLevel<string, Uint8Array>, home: string): Promise<void> {
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') throw new FerryError(`the database in ${home} is in use by another ferry process`, 'ERR_FERRY_DB_LOCKED')
    throw err
  }
}
