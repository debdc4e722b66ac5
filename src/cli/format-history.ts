import type { ConflictCopy } from '../history/conflict-list.ts'
import { shortDeviceId } from '../sync/conflict-name.ts'

export function formatConflicts (list: ConflictCopy[]): string {
  if (list.length === 0) return 'no conflicts'
  return list.map(c => `${c.folder}: ${c.path}\n    beside ${c.original}, version of ${shortDeviceId(c.device)} from ${c.time.replace('T', ' ').replace('.000Z', ' UTC')}`).join('\n')
}
