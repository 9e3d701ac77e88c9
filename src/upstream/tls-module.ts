/**
 * node:tls, loaded the first time attache needs it: for a TLS upstream's credentials or connection. A process
 * whose upstreams are all plaintext (a sidecar whose mesh does mTLS, the local gateway) never loads it, nor
 * OpenSSL's TLS layer behind it: ~3.5 MiB of resident memory and ~30 ms of every start (bench/RESULTS.md
 * §22). The libraries attache bundles get node:tls and node:https the same way (scripts/bundle.mjs); an
 * `import tls from 'node:tls'` here would load it with the bundle.
 */
import type * as Tls from 'node:tls';

let loaded: typeof Tls | undefined;

/** The node:tls module, loaded on the first call. */
export function nodeTls(): typeof Tls {
  return (loaded ??= process.getBuiltinModule('node:tls'));
}
