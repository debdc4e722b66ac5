/**
 * The import rules of ferry's architecture (docs/DESIGN.md, "Module map"). Run by `npm test`
 * and `npm run test:unit` through `npm run lint:deps`; a violation fails the run.
 * Arrows point down: cli → daemon → sync → store; protocols are libraries the daemon and the
 * relay compose, so they depend on neither.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'no import cycle between files',
      from: {},
      to: { circular: true }
    },
    {
      name: 'protocols-stand-alone',
      severity: 'error',
      comment: 'protocols take narrow component interfaces; they never reach into the store, the daemon or the CLI',
      from: { path: '^protocols/' },
      to: { path: '^src/(store|daemon|cli)/' }
    },
    {
      name: 'relay-not-daemon',
      severity: 'error',
      comment: 'the relay composes shared parts; it never imports the device daemon or the CLI',
      from: { path: '^relay/' },
      to: { path: '^src/(daemon|cli)/' }
    },
    {
      name: 'sync-not-history',
      severity: 'error',
      comment: 'history builds on sync (restore, trash), never the other way round',
      from: { path: '^src/sync/' },
      to: { path: '^src/history/' }
    },
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      comment: 'the CLI is the top: nothing but the CLI imports it',
      from: { path: '^(src|relay|protocols)/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' }
    },
    {
      name: 'no-test-code-in-product',
      severity: 'error',
      comment: 'product code never imports tests or their helpers',
      from: { path: '^(src|relay|protocols)/' },
      to: { path: '^(test|bench|sim)/' }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] }
  }
}
