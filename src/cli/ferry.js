#!/usr/bin/env -S node --max-semi-space-size=2
// The flag keeps V8's young generation small: a daemon's heap is small and short-lived block
// buffers live outside it, so the default 16 MiB semi-spaces only cost resident memory (issue 3:
// peak RSS under 250 MiB while syncing a big file). Whoever starts ferry without this shebang
// (tests, bench, demo) passes the same flags: see nodeFlags() in test/helpers/ferry-process.ts.
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
