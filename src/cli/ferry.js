#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=100
// The flags shape V8's garbage collection for a process whose memory is mostly block buffers
// outside the JS heap (issue 3: peak RSS under 250 MiB while syncing a big file, and CPU).
// --max-semi-space-size=4 caps the young generation at 4 MiB semi-spaces (the default grows them
// to 16 MiB or more, which only costs resident memory); with 2 MiB, objects that live a few
// milliseconds (records, blocks in flight) were promoted and S2 (10,000 small files) slowed.
// --heap-growing-percent=100 lets the old generation double before its next collection. Without
// it the old generation keeps little headroom over its live size, so V8's incremental marking
// starts almost at once after each collection, and every collection also frees the block buffers
// it finds dead: the sender of a 1 GiB file ran 36-37 full collections (1 GiB, 8 MiB semi-spaces)
// instead of 12-13, ~1.5 CPU-s more, and buffers awaiting collection peaked higher. Measured (S1,
// same runs, alternating): 1 GiB sender CPU 6.2-7.2 s -> 4.8-5.1 s, peak RSS 195-202 -> 168-170
// MiB; 4 GiB sender peak 232 -> 217 MiB; S2 receiver peak 293-297 -> 252-256 MiB.
// Whoever starts ferry without this shebang (tests, bench, demo) passes the same flags: see
// FERRY_NODE_FLAGS in src/cli/node-flags.ts. (glibc's MALLOC_ARENA_MAX is set by the daemon
// itself: src/cli/malloc-arenas.ts.)
// ferry's entry point. In a clone the TypeScript sources next to it run directly (Node >= 22.18
// strips types). An installed package carries no sources, only the compiled JavaScript in dist/
// (built by `npm run build`, which `npm pack` runs; Node strips no types under node_modules):
// whether main.ts is here decides, so a clone with a dist/ from an earlier pack still runs its sources.
const { existsSync } = await import('node:fs')
const fromSources = existsSync(new URL('./main.ts', import.meta.url))
// the compiled code needs 22.10 (node:module's flushCompileCache); package.json's engines says the same
const [needMajor, needMinor] = fromSources ? [22, 18] : [22, 10]
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < needMajor || (major === needMajor && minor < needMinor)) {
  process.stderr.write(`ferry: needs Node >= ${needMajor}.${needMinor} (this is ${process.versions.node})${fromSources ? '; run it through npm/npx in the repo, which uses the bundled Node 24' : ''}\n`)
  process.exit(1)
}
// Node keeps the type-stripped sources in its compile cache (os.tmpdir()/node-compile-cache):
// a process whose modules all come from there never loads Node's TypeScript stripper, a
// WebAssembly build of swc costing ~12 MiB of resident memory for the life of a daemon.
const { enableCompileCache } = await import('node:module')
enableCompileCache?.()
const { main } = await import(fromSources ? './main.ts' : '../../dist/src/cli/main.js')
// A reader that went away (`ferry ... | head`) is not an error of ours: stop writing quietly.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
await main(process.argv.slice(2))
// Output to a pipe is written asynchronously once the pipe's buffer (64 KiB) is full: exiting
// now would cut it there. A write's callback runs once it and everything before it is flushed.
const flushed = stream => new Promise(resolve => {
  if (stream.destroyed || stream.writableLength === 0) resolve()
  else stream.write('', () => resolve())
})
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
// Everything of ours is closed when main returns. libp2p leaves a 1 s debounce timer armed by its
// own stop (AddressManager's peer-store update), which would hold a stopped daemon for a second.
process.exit()
