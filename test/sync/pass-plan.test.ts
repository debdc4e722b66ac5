import { describe, expect, it } from 'vitest'
import type { FileRecord } from '../../src/model/file-record.ts'
import type { Action } from '../../src/sync/planner.ts'
import { choosePass, phasesOf, RenameSources, touchedPaths } from '../../src/sync/pass-plan.ts'
import { fileRecordOf, syntheticBlocks } from '../helpers/synthetic-records.ts'

// The plain decisions of one sync pass: which actions, which phases, which deletes are renames.

const SELF = '12D3KooWSelfSelfSelfSelfSelfSelfSelfSelfSelfSelfSelf'
const PEER = '12D3KooWPeerPeerPeerPeerPeerPeerPeerPeerPeerPeerPeer'

function rec (path: string, seed: string, fields: Partial<FileRecord> = {}): FileRecord {
  return fileRecordOf(syntheticBlocks(2, seed), { folder: 'f', device: PEER, seq: 1, path, ...fields })
}

const fetch = (path: string, seed = path): Action => ({ kind: 'fetch', path, record: rec(path, seed) })
const del = (path: string): Action => ({ kind: 'delete', path, record: rec(path, path, { deleted: true, size: 0, blocks: [] }) })
const mkdir = (path: string): Action => ({ kind: 'mkdir', path, record: rec(path, path, { type: 'dir', size: 0, blocks: [] }) })

describe('choosePass', () => {
  it('runs every ready action', () => {
    const plan = [mkdir('d'), fetch('d/a'), fetch('b')]
    expect(choosePass(plan, { rulesFirstFailed: false, ready: () => true })).toEqual({ actions: plan, rulesFirst: false, deferred: false })
  })

  it('runs the rules file alone first, unless that failed last time', () => {
    const rules = fetch('.ferryignore')
    const plan = [fetch('a'), rules, fetch('b')]
    expect(choosePass(plan, { rulesFirstFailed: false, ready: () => true })).toEqual({ actions: [rules], rules, rulesFirst: true, deferred: false })
    expect(choosePass(plan, { rulesFirstFailed: true, ready: () => true })).toEqual({ actions: plan, rules, rulesFirst: false, deferred: false })
    expect(choosePass([rules], { rulesFirstFailed: false, ready: () => true })).toEqual({ actions: [rules], rules, rulesFirst: false, deferred: false })
  })

  it('leaves out actions waiting for their retry', () => {
    const plan = [fetch('a'), fetch('b'), fetch('c')]
    expect(choosePass(plan, { rulesFirstFailed: false, ready: p => p !== 'b' })).toEqual({ actions: [plan[0], plan[2]], rulesFirst: false, deferred: true })
    expect(choosePass(plan, { rulesFirstFailed: false, ready: () => false })).toEqual({ actions: [], rulesFirst: false, deferred: true })
  })
})

describe('phasesOf', () => {
  it('groups runs of the same kind, but runs directories and deletions one by one', () => {
    const plan = [mkdir('d'), mkdir('d/e'), fetch('a'), fetch('b'), del('x/y'), del('x')]
    expect(phasesOf(plan).map(p => p.map(a => a.path))).toEqual([['d'], ['d/e'], ['a', 'b'], ['x/y'], ['x']])
  })
})

describe('RenameSources', () => {
  it('pairs a fetch with a deleted file of ours holding the same content, once', () => {
    const own = new Map<string, FileRecord>([
      ['old', rec('old', 'content', { device: SELF, seq: 7 })],
      ['empty', rec('empty', 'e', { device: SELF, seq: 3, size: 0, blocks: [] })]
    ])
    const deleteOld = del('old') as Extract<Action, { kind: 'delete' }>
    const sources = new RenameSources([deleteOld, del('empty'), fetch('new', 'content')], p => own.get(p))
    expect(sources.claim(rec('new', 'content'))).toEqual({ path: 'old', base: 7, deleted: deleteOld.record })
    expect(sources.claim(rec('new2', 'content'))).toBeUndefined()
    expect(sources.claim(rec('other', 'e', { size: 0, blocks: [] }))).toBeUndefined()
  })
})

describe('touchedPaths', () => {
  it('is the path, and the conflict copy\'s name when there is one', () => {
    expect(touchedPaths(fetch('a'))).toEqual(['a'])
    const local = rec('a', 'l', { device: SELF })
    expect(touchedPaths({ kind: 'conflict', path: 'a', record: rec('a', 'r'), conflictPath: 'a.c', local })).toEqual(['a', 'a.c'])
  })
})
