// Bundles src/cli.ts and everything it imports into one file, dist/cli.js, which is what `node dist/cli.js`
// and the `attache` bin run. Run by `npm run build` after tsc, whose per-module dist/ output stays for the
// benchmark scripts that import single modules (bench/*.mjs); tsc's own entry is kept as
// dist/cli-modules.js, the same program unbundled, for comparisons (bench/rss-ready.sh CLI=…).
//
// Why a bundle (bench/RESULTS.md §0.9): run as tsc's modules, Node loads 931 files (as many module records),
// and V8 keeps every one's source text, comments and all, for lazy compilation (~3.3 MiB of sources above
// 8 KB in a heap snapshot at ready). One minified, tree-shaken file (OpenTelemetry's semantic conventions
// alone are ~300 KB of unused constants) is what takes attache's resident memory when ready from 85.4 to
// 61.6 MiB together with src/ops/startup-hold.ts, which gains nothing on the unbundled build. It also starts
// faster and needs no node_modules at run time.
//
// Stack traces: names are minified too (keeping them, with minifyWhitespace + minifySyntax only, cost
// +1.0 MiB: 62.6 against 61.6 MiB, `CLI=… bench/rss-ready.sh 7`). dist/cli.js.map maps them back:
// `node --enable-source-maps dist/cli.js …`.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

fs.renameSync(path.join(root, 'dist/cli.js'), path.join(root, 'dist/cli-modules.js'));

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: 'external',
  // License texts go to dist/cli.js.LEGAL.txt rather than into the source V8 keeps in memory.
  legalComments: 'external',
  // The CommonJS libraries (Fastify, pino, grpc-js, protobufjs…) call require() for Node's built-ins; an ES
  // module bundle has no require of its own.
  banner: { js: "import { createRequire as __attacheRequire } from 'node:module'; const require = __attacheRequire(import.meta.url);" },
  logLevel: 'warning',
});
