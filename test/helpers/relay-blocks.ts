import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'

/** a block as it lies in a relay's store: `path` holds its bytes from `offset` (a pack, or a file of its own) */
export interface StoredRelayBlock { cid: string, size: number, path: string, offset: number }

/**
 * Every block in a relay's store, read from disk as the relay wrote it (the relay may be
 * running): files `relay/blocks/<shard>/<cid>`, and the blocks in `relay/blocks/packs/*.pack`,
 * which describe themselves (`FBP1`, cid length, size, cid, bytes). A pack may still hold a
 * block deleted or appended but never acknowledged; one cid is listed once (its first copy).
 */
export async function storedRelayBlocks (relayHome: string): Promise<StoredRelayBlock[]> {
  const root = join(relayHome, 'relay', 'blocks')
  const out = new Map<string, StoredRelayBlock>()
  for (const shard of (await readdir(root)).filter(n => /^[0-9a-f]{2}$/.test(n)).sort()) {
    for (const name of (await readdir(join(root, shard))).sort()) {
      const path = join(root, shard, name)
      out.set(name, { cid: name, size: (await readFile(path)).byteLength, path, offset: 0 })
    }
  }
  const packs = join(root, 'packs')
  const names = (await readdir(packs).catch(() => [] as string[])).filter(n => n.endsWith('.pack')).sort((a, b) => parseInt(a) - parseInt(b))
  for (const name of names) {
    const path = join(packs, name)
    const bytes = await readFile(path)
    let at = 0
    while (at + 12 <= bytes.length && bytes.readUInt32BE(at) === 0x46425031) {
      const cidLength = bytes.readUInt32BE(at + 4)
      const size = bytes.readUInt32BE(at + 8)
      const offset = at + 12 + cidLength
      if (offset + size > bytes.length) break // a torn tail
      const cid = CID.decode(bytes.subarray(at + 12, offset)).toString()
      if (!out.has(cid)) out.set(cid, { cid, size, path, offset })
      at = offset + size
    }
  }
  return [...out.values()].sort((a, b) => a.cid.localeCompare(b.cid))
}

/** the stored bytes of `b` */
export async function storedRelayBlockBytes (b: StoredRelayBlock): Promise<Buffer> {
  return (await readFile(b.path)).subarray(b.offset, b.offset + b.size)
}
