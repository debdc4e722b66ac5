import { callDaemon } from '../daemon/control-client.ts'
import type { InviteResult } from './sharing-service.ts'

/** `ferry invite <folderId>`: the running daemon makes the invitation (it knows its addresses). */
export async function inviteCommand (home: string, folder: string, options: { readOnly: boolean, ttlSeconds?: number }): Promise<InviteResult> {
  return await callDaemon(home, 'POST', '/invitations', 10_000, { folder, readOnly: options.readOnly, ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }) })
}
