import type { RelayStatus } from '../../relay/relay-status.ts'
import type { VerifyReport } from '../../relay/store/verify.ts'
import { printable as p } from '../text/printable.ts'
import { formatBytes } from './format-bytes.ts'

export function formatRelayStatus (s: RelayStatus): string {
  // fields a relay of an older version does not send are left out
  const stun = s.stun === undefined ? 'STUN off' : `STUN on ${p(s.stun.address)}, ${s.stun.answered} requests answered`
  const lines = [`relay ${p(s.deviceId)} (history kept ${s.retentionDays} days; ${stun})`]
  for (const a of s.listenAddrs) lines.push(`  listening ${p(a)}`)
  const limits = s.relayLimits === undefined ? '' : `; relayed data per device: ${formatBytes(s.relayLimits.rateBytesPerSecond)}/s, ${formatBytes(s.relayLimits.dailyBytes)} a day`
  lines.push(`devices (${s.peers.filter(p => p.connected).length}/${s.peers.length} connected${limits})`)
  for (const peer of s.peers) {
    const relayed = peer.relayedToday === undefined || s.relayLimits === undefined ? '' : ` relayed ${formatBytes(peer.relayedToday)} of ${formatBytes(s.relayLimits.dailyBytes)} today${peer.relayLimited ? ' LIMIT REACHED' : ''}`
    lines.push(`  ${peer.connected ? 'connected   ' : 'disconnected'} ${p(peer.name ?? '')} ${p(peer.id)}${relayed}`.replace(/ {2,}/g, ' ').replace(/^ /, '  '))
  }
  if (s.quotas !== undefined) {
    lines.push(`storage per device (default quota: ${s.defaultQuotaBytes === undefined ? 'unlimited' : formatBytes(s.defaultQuotaBytes)})`)
    for (const q of s.quotas) lines.push(`  ${p(q.name ?? '')} ${p(q.device)} ${formatBytes(q.usedBytes)} of ${q.limitBytes === undefined ? 'unlimited' : formatBytes(q.limitBytes)}${q.limitBytes !== undefined && q.usedBytes >= q.limitBytes ? ' FULL' : ''}`.replace(/ {2,}/g, ' ').replace(/^ /, '  '))
  }
  lines.push('folders')
  for (const f of s.folders) lines.push(`  ${p(f.id)}: ${f.paths} paths, ${Object.keys(f.devices).length} device logs, ${f.members.length} member(s)${f.membersVersion === undefined ? '' : ` (list v${f.membersVersion})`}${f.storedBytes === undefined ? '' : `, ${formatBytes(f.storedBytes)} in ${f.storedBlocks ?? 0} blocks`}`)
  lines.push(`received ${s.receivedBlocks} blocks (${formatBytes(s.receivedBlockBytes)}) since start`)
  return lines.join('\n')
}

export function formatVerifyReport (r: VerifyReport): string {
  const lines = [
    `${r.blocks} blocks (${formatBytes(r.blockBytes)}), ${r.records} records, ${r.history} history records checked`
  ]
  for (const c of r.damagedBlocks) lines.push(`damaged block ${c} (quarantined; devices that hold it upload it again)`)
  for (const d of r.damagedRecords) lines.push(`damaged record ${p(d.folder)} ${p(d.key)}: ${p(d.error)}`)
  if (r.missingBlocks > 0) lines.push(`${r.missingBlocks} block(s) referenced by records are not uploaded yet`)
  lines.push(r.ok ? 'ok' : 'DAMAGE FOUND')
  return lines.join('\n')
}
