import type { Membership } from '../access/membership.ts'

/** What `peer` may access now (its folders and roles), comparable across a config change. */
export function accessOf (membership: Membership, peer: string): string {
  return JSON.stringify(membership.foldersSharedWith(peer).map(f => [f, membership.role(f, peer)]))
}

/**
 * The connected peers to hang up on once the membership has the new config (a peer may be
 * named twice). `before`: each connected peer's access under the old config; `toggled`: the
 * folders paused or resumed.
 *
 * A peer whose trust or shares changed is disconnected: streams it holds were opened under the
 * old rules; if still trusted it reconnects within a dial round under the new ones. The members
 * of a folder paused or resumed are hung up on too, so that index subscriptions both ways end
 * with the old FolderSync and start afresh (at once, not after a refused retry).
 */
export function peersToHangUp (membership: Membership, change: { before: ReadonlyMap<string, string>, toggled: readonly string[] }): string[] {
  const changed = [...change.before].filter(([peer, was]) => !membership.isTrusted(peer) || accessOf(membership, peer) !== was).map(([peer]) => peer)
  const ofToggled = [...new Set(change.toggled.flatMap(id => membership.membersOf(id)))].filter(peer => change.before.has(peer))
  return [...changed, ...ofToggled]
}
