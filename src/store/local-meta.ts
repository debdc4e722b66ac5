/** What the scanner remembers of a file on disk, to skip re-reading unchanged files. */
export interface LocalMeta {
  ino: number
  size: number
  mtimeNs: string
  mode: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const encodeLocalMeta = (meta: LocalMeta): Uint8Array => encoder.encode(JSON.stringify(meta))
export const decodeLocalMeta = (value: Uint8Array): LocalMeta => JSON.parse(decoder.decode(value)) as LocalMeta
