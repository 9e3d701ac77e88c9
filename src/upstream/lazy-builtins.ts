/**
 * Node built-ins that only some upstreams need, loaded the first time one does: node:tls for a TLS
 * upstream's credentials and connections, node:zlib for a compressed response. A process whose upstreams
 * are all plaintext and uncompressed (a sidecar whose mesh does mTLS, the local gateway) never loads them:
 * node:tls and OpenSSL's TLS layer behind it are ~3.5 MiB of resident memory and ~30 ms of every start,
 * node:zlib ~1 MiB (bench/RESULTS.md §22). An
 * `import … from 'node:tls'` would load the module with the bundle; the libraries attache bundles get these
 * built-ins through a proxy that does the same (scripts/bundle.mjs).
 *
 * process.getBuiltinModule returns the module Node has already loaded after the first call: a map lookup.
 */
import type * as Tls from 'node:tls';
import type * as Zlib from 'node:zlib';

/** node:tls, loaded on the first call. */
export const nodeTls = (): typeof Tls => process.getBuiltinModule('node:tls');

/** node:zlib, loaded on the first call. */
export const nodeZlib = (): typeof Zlib => process.getBuiltinModule('node:zlib');
