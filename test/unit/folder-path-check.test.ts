import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkNewFolder, isInside, overlaps } from '../../src/config/folder-path-check.ts'
import { emptyConfig, type Config } from '../../src/config/config.ts'
import { rejection } from '../helpers/async-checks.ts'

/** Which directories may become a folder: real directories on disk, compared by real path. */
describe('folder path check', () => {
  let dir: string
  let home: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-pathcheck-'))
    home = join(dir, 'home')
    await mkdir(home)
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  const withFolders = (folders: Record<string, string>): Config => {
    const c = emptyConfig()
    for (const [id, path] of Object.entries(folders)) c.folders[id] = { path, members: {} }
    return c
  }

  it('isInside and overlaps handle the root and sibling prefixes', () => {
    expect(isInside('/', '/home/a')).toBe(true)
    expect(isInside('/a/b', '/a/b')).toBe(true)
    expect(isInside('/a/b', '/a/bc')).toBe(false)
    expect(overlaps('/a', '/a/b/c')).toBe(true)
    expect(overlaps('/a/b/c', '/a')).toBe(true)
    expect(overlaps('/a/b', '/a/c')).toBe(false)
  })

  it('a folder at / (an old config) overlaps every later folder', async () => {
    const err = await rejection(checkNewFolder(withFolders({ everything: '/' }), 'docs', join(dir, 'docs'), home))
    expect(err.code).toBe('ERR_FERRY_FOLDER_OVERLAP')
  })

  it('refuses /, kernel filesystems, the home and what contains it', async () => {
    for (const p of ['/', '/proc', '/proc/self/cwd/x', '/sys', '/dev', '/dev/shm/x']) {
      expect((await rejection(checkNewFolder(emptyConfig(), 'x', p, home))).code, p).toBe('ERR_FERRY_FOLDER_UNSAFE')
    }
    for (const p of [home, join(home, 'inside'), dir]) {
      expect((await rejection(checkNewFolder(emptyConfig(), 'x', p, home))).code, p).toBe('ERR_FERRY_FOLDER_OVERLAP')
    }
    // through a symlink to the home
    await symlink(home, join(dir, 'home-link'))
    expect((await rejection(checkNewFolder(emptyConfig(), 'x', join(dir, 'home-link', 'sub'), home))).code).toBe('ERR_FERRY_FOLDER_OVERLAP')
  })

  it('compares real paths: a symlink to a folder, into it, or around it is refused', async () => {
    const docs = join(dir, 'docs')
    await mkdir(join(docs, 'inner'), { recursive: true })
    await symlink(docs, join(dir, 'docs-link'))
    await symlink(dir, join(dir, 'parent-link'))
    const config = withFolders({ docs })
    for (const p of [join(dir, 'docs-link'), join(dir, 'docs-link', 'inner'), join(dir, 'parent-link', 'docs')]) {
      expect((await rejection(checkNewFolder(config, 'x', p, home))).code, p).toBe('ERR_FERRY_FOLDER_OVERLAP')
    }
    // the configured folder is a symlink (an older config): its real directory counts
    const viaLink = withFolders({ docs: join(dir, 'docs-link') })
    expect((await rejection(checkNewFolder(viaLink, 'x', join(docs, 'inner'), home))).code).toBe('ERR_FERRY_FOLDER_OVERLAP')
    // a sibling whose name starts the same is fine, and its real path is returned
    expect(await checkNewFolder(config, 'x', join(dir, 'parent-link', 'docs2', 'new'), home)).toBe(join(dir, 'docs2', 'new'))
  })

  it('a file, a path under a file, and a dangling symlink are clear errors', async () => {
    await writeFile(join(dir, 'plain'), 'x')
    await symlink(join(dir, 'missing'), join(dir, 'dangling'))
    for (const p of [join(dir, 'plain'), join(dir, 'plain', 'sub'), join(dir, 'dangling')]) {
      const err = await rejection(checkNewFolder(emptyConfig(), 'x', p, home))
      expect(err.code, p).toBe('ERR_FERRY_FOLDER_NOT_DIR')
      expect(err.message).not.toContain('\n')
    }
  })

  it('a taken id is refused before the path is looked at', async () => {
    expect((await rejection(checkNewFolder(withFolders({ docs: join(dir, 'docs') }), 'docs', '/', home))).code).toBe('ERR_FERRY_FOLDER_EXISTS')
  })
})
