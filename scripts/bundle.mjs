// Bundles src/cli.ts and everything it imports into one file, dist/attache.js, which `node dist/cli.js` and
// the `attache` bin run through a small launcher, dist/cli.js (src/launch.ts, bundled on its own below: it
// may start node again with glibc's malloc setting, then turns on Node's compile cache). Run by `npm run
// build` after tsc, whose per-module dist/ output stays for the benchmark scripts that import single
// modules (bench/*.mjs); tsc's own entry is kept as dist/cli-modules.js, the same program unbundled, for
// comparisons (bench/rss-ready.sh CLI=…).
//
// Why a bundle (bench/RESULTS.md §0.9): run as tsc's modules, Node loads 931 files (as many module records),
// and V8 keeps every one's source text, comments and all, for lazy compilation (~3.3 MiB of sources above
// 8 KB in a heap snapshot at ready). One minified, tree-shaken file (OpenTelemetry's semantic conventions
// alone are ~300 KB of unused constants) is what takes attache's resident memory when ready from 85.4 to
// 61.6 MiB together with src/ops/startup-hold.ts, which gains nothing on the unbundled build. It also starts
// faster and needs no node_modules at run time.
//
// Stack traces: names are minified too (keeping them, with minifyWhitespace + minifySyntax only, cost
// +1.0 MiB: 62.6 against 61.6 MiB, `CLI=… bench/rss-ready.sh 7`). dist/attache.js.map maps them back:
// `node --enable-source-maps dist/cli.js …` (the map is dist/attache.js.map).
import { build } from 'esbuild';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

fs.renameSync(path.join(root, 'dist/cli.js'), path.join(root, 'dist/cli-modules.js'));

// The API reference page (src/ops/docs-ui.ts) is loaded on the first request for /docs only: it is its own
// bundle, dist/docs-ui.js, which the main bundle imports at run time rather than carrying (Swagger UI's
// server side and @fastify/static would otherwise sit in every process's memory), and the Swagger UI
// assets it serves are copied to dist/docs-ui/.
const docsUiExternal = {
  name: 'docs-ui-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/docs-ui\.js$/ }, () => ({ path: './docs-ui.js', external: true }));
  },
};
// Node's built-ins through require(), as the bundled CommonJS libraries already take them. An ES import of a
// built-in makes Node build an ES module facade of it, which reads every one of its exports: node:http's
// include lazy getters (WebSocket, …) that load Node's fetch implementation, undici, which attache never
// uses: ~20 ms of every start (`node dist/cli.js --version` on Node 24: 0.256 → 0.233 s, bench/RESULTS.md
// §19) and its memory. A require() reads nothing until the code does.
const builtinsThroughRequire = {
  name: 'builtins-through-require',
  setup(b) {
    const builtin = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
    b.onResolve({ filter: builtin }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin-require' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};
// Built-ins that libraries require when they load but use only for a feature attache may never reach get a
// proxy instead, which loads the built-in on first use (when a library touches it):
// - node:http2, from Fastify's lib/server.js, for its `http2: true` option, which attache never sets.
//   node:http2 (its nghttp2 binding and JavaScript) is ~20 ms and ~7.6 MiB of a start on Node 24; attache's
//   own HTTP/2 client does not use it, and grpc-js, which does, is loaded only for grpc-js upstreams
//   (src/upstream/channels.ts) and requires it itself.
// - node:tls and node:https, from Fastify's lib/server.js (its `https` option), ws (its client side) and
//   prom-client's Pushgateway: only TLS upstreams use TLS, and attache's own modules load node:tls when
//   they first need it (src/upstream/lazy-builtins.ts). OpenSSL's TLS layer and its JavaScript are ~3.5 MiB
//   of resident memory and ~30 ms of CPU at every start (bench/RESULTS.md §22).
// - node:zlib, from ws (permessage-deflate) and prom-client's Pushgateway: ~1 MiB; attache's own modules
//   load it for the first compressed response. prom-client takes `gzipSync` out of node:zlib when it loads,
//   so the proxy has that one as a function of its own that loads node:zlib when called.
// (node:dns is not among them: Node's net loads it to listen on a host, even an IP address.)
// A library that only keeps the module in a variable at load time never loads it. The descriptor trap
// reports properties as configurable, as a proxy must for properties its target does not have.
const ON_FIRST_USE = [
  { builtin: 'http2', importers: /[\\/]node_modules[\\/]fastify[\\/]/ },
  { builtin: 'tls', importers: /[\\/]node_modules[\\/]/ },
  { builtin: 'https', importers: /[\\/]node_modules[\\/]/ },
  { builtin: 'zlib', importers: /[\\/]node_modules[\\/]/, takenOnLoad: ['gzipSync'] },
];
const builtinsOnFirstUse = {
  name: 'builtins-on-first-use',
  setup(b) {
    for (const { builtin, importers } of ON_FIRST_USE) {
      b.onResolve({ filter: new RegExp(`^(node:)?${builtin}$`) }, (args) => {
        // The proxy's own require: the real built-in.
        if (args.namespace === 'on-first-use') return { path: `node:${builtin}`, external: true };
        return importers.test(args.importer) ? { path: builtin, namespace: 'on-first-use' } : undefined;
      });
    }
    b.onLoad({ filter: /.*/, namespace: 'on-first-use' }, (args) => {
      const { takenOnLoad = [] } = ON_FIRST_USE.find((e) => e.builtin === args.path);
      return {
        contents:
          `let m; const load = () => (m ??= require('node:${args.path}'));\n` +
          `const own = { ${takenOnLoad.map((f) => `${f}: (...a) => load().${f}(...a)`).join(', ')} };\n` +
          'module.exports = new Proxy(own, { get: (t, k) => (Object.hasOwn(t, k) ? t[k] : load()[k]), has: (_, k) => k in load(), ' +
          'ownKeys: () => Reflect.ownKeys(load()), ' +
          'getOwnPropertyDescriptor: (_, k) => { const d = Reflect.getOwnPropertyDescriptor(load(), k); return d && { ...d, configurable: true }; } });',
        loader: 'js',
      };
    });
  },
};
// The CommonJS libraries (Fastify, pino, grpc-js, protobufjs…) and builtinsThroughRequire call require() for
// Node's built-ins; an ES module bundle has no require of its own. Every bundle below starts with this.
const REQUIRE_BANNER = { js: "import { createRequire as __attacheRequire } from 'node:module'; const require = __attacheRequire(import.meta.url);" };
const swaggerUiStatic = path.join(root, 'node_modules/@fastify/swagger-ui/static');
fs.rmSync(path.join(root, 'dist/docs-ui'), { recursive: true, force: true });
fs.cpSync(swaggerUiStatic, path.join(root, 'dist/docs-ui'), { recursive: true });

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/attache.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // ATTACHE_BUNDLE_NAMES=1 keeps names (for heap snapshots: bench/realworld/heap.mjs --owners).
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: process.env['ATTACHE_BUNDLE_NAMES'] !== '1',
  sourcemap: 'external',
  // License texts go to dist/attache.js.LEGAL.txt rather than into the source V8 keeps in memory.
  legalComments: 'external',
  banner: REQUIRE_BANNER,
  plugins: [docsUiExternal, builtinsOnFirstUse, builtinsThroughRequire],
  logLevel: 'warning',
});

// The launcher, dist/cli.js: src/launch.ts bundled on its own (a few KiB), which may start node again with
// glibc's malloc setting before the bundle loads, turns on Node's compile cache, then imports ./attache.js.
await build({
  absWorkingDir: root,
  entryPoints: ['src/launch.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [builtinsThroughRequire],
  banner: REQUIRE_BANNER,
  logLevel: 'warning',
});
fs.chmodSync(path.join(root, 'dist/cli.js'), 0o755);

await build({
  absWorkingDir: root,
  entryPoints: ['src/ops/docs-ui.ts'],
  outfile: 'dist/docs-ui.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'external',
  banner: REQUIRE_BANNER,
  plugins: [builtinsThroughRequire],
  logLevel: 'warning',
});
