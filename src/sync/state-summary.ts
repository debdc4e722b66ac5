import { createHash } from 'node:crypto'
import { contentKey, type FileRecord } from '../model/file-record.ts'

/**
 * The folder's state hash (equal on two devices exactly when their live paths have equal
 * content), file count and bytes, updated per changed path: the hash is the XOR of one sha256
 * per live path over (path, content), so no update needs the other paths.
 */
export class StateSummary {
  private readonly parts = new Map<string, { digest: Buffer, file: boolean, size: number }>()
  private readonly acc = Buffer.alloc(32)
  localFiles = 0
  localBytes = 0

  update (path: string, own: FileRecord | undefined): void {
    const old = this.parts.get(path)
    if (old !== undefined) {
      xorInto(this.acc, old.digest)
      if (old.file) { this.localFiles--; this.localBytes -= old.size }
      this.parts.delete(path)
    }
    if (own === undefined || own.deleted) return
    const part = { digest: createHash('sha256').update(`${path}\0${contentKey(own)}`).digest(), file: own.type === 'file', size: own.size }
    xorInto(this.acc, part.digest)
    if (part.file) { this.localFiles++; this.localBytes += part.size }
    this.parts.set(path, part)
  }

  hash (): string {
    return this.acc.toString('hex')
  }
}

function xorInto (acc: Buffer, digest: Buffer): void {
  for (let i = 0; i < acc.length; i++) acc[i]! ^= digest[i]!
}
