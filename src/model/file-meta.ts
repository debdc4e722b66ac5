/**
 * What a file's stat says about its content, as the scan cache keeps it (the store's LocalMeta
 * has this shape): inode, size, mtime (ns, as a string: exact) and permission bits.
 */
export interface FileMeta {
  ino: number
  size: number
  mtimeNs: string
  mode: number
}

export function metaOf (st: { ino: bigint, size: bigint, mtimeNs: bigint, mode: bigint }): FileMeta {
  return { ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs.toString(), mode: Number(st.mode & 0o777n) }
}

/** same inode, size and mtime: the evidence that a file still holds what was scanned */
export function sameMeta (a: FileMeta | undefined, b: FileMeta): boolean {
  return a !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs
}
