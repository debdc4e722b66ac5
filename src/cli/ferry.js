#!/usr/bin/env node
// ferry's entry point. The TypeScript sources run directly (Node >= 22.18 strips types).
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`ferry: needs Node >= 22.18 (this is ${process.versions.node}); run it through npm/npx in the repo, which uses the bundled Node 24\n`)
  process.exit(1)
}
const { main } = await import('./main.ts')
await main(process.argv.slice(2))
