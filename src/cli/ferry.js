#!/usr/bin/env -S node --max-semi-space-size=8
// The flag caps V8's young generation at 8 MiB semi-spaces (the default lets them grow to 16 MiB
// or more, which only costs resident memory: block buffers live outside the heap; issue 3: peak
// RSS under 250 MiB while syncing a big file). Smaller was worse: with 2 MiB, objects that live
// a few milliseconds (records, blocks in flight) were promoted and the old generation filled,
// ~30 full collections while receiving 1 GiB (2-4 with 8 MiB) and S2 (10,000 small files)
// 11.4 s instead of 9.8 s. Whoever starts ferry without this shebang (tests, bench, demo) passes
// the same flags: see FERRY_NODE_FLAGS in src/cli/node-flags.ts. (glibc's MALLOC_ARENA_MAX is set
// by the daemon itself: src/cli/malloc-arenas.ts.)
// ferry's entry point. The TypeScript sources run directly (Node >= 22.18 strips types).
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`ferry: needs Node >= 22.18 (this is ${process.versions.node}); run it through npm/npx in the repo, which uses the bundled Node 24\n`)
  process.exit(1)
}
// Node keeps the type-stripped sources in its compile cache (os.tmpdir()/node-compile-cache):
// a process whose modules all come from there never loads Node's TypeScript stripper, a
// WebAssembly build of swc costing ~12 MiB of resident memory for the life of a daemon.
const { enableCompileCache } = await import('node:module')
enableCompileCache?.()
const { main } = await import('./main.ts')
await main(process.argv.slice(2))
// Everything of ours is closed when main returns. libp2p leaves a 1 s debounce timer armed by its
// own stop (AddressManager's peer-store update), which would hold a stopped daemon for a second.
process.exit()
