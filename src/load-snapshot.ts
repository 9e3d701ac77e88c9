/**
 * The snapshot with its asynchronous sources: with `--reflection`, the upstream's descriptors are fetched
 * first (registry/reflection.ts) and loaded as one more proto root; then buildSnapshot as usual. Start-up,
 * `--check` and reload (which must fetch them again) all go through here.
 */
import fs from 'node:fs';
import type { Config } from './config/load.js';
import { buildSnapshot, type SnapshotResult } from './snapshot.js';

/** How long reflection may take, connecting included. */
const REFLECTION_TIMEOUT_MS = 10_000;

/**
 * Loads everything `config` names into a snapshot; `env` is where credential secrets named by variable are
 * read. Never throws for bad input: problems are returned.
 */
export async function loadSnapshot(config: Config, env?: NodeJS.ProcessEnv): Promise<SnapshotResult> {
  if (!config.reflection) return buildSnapshot(config, env);
  const target = config.upstream;
  if (target === undefined) {
    return { ok: false, problems: [{ code: 'ATTACHE_E_REFLECTION', source: 'reflection', rule: undefined, message: '--reflection needs --upstream (GRPC_TARGET): the server to ask for its descriptors' }] };
  }
  // Loaded only here: reflection calls the upstream through grpc-js, which other starts never load.
  const { reflectInto, ReflectionError } = await import('./registry/reflection.js');
  let reflected: { dir: string; files: string[] };
  try {
    const o = config.outbound;
    reflected = await reflectInto({ target, tls: o.upstreamTls, ca: o.tlsCa, cert: o.tlsCert, key: o.tlsKey, serverName: o.tlsServerName, timeoutMs: REFLECTION_TIMEOUT_MS });
  } catch (err) {
    if (!(err instanceof ReflectionError)) throw err;
    return { ok: false, problems: [{ code: err.code, source: target, rule: undefined, message: err.message }] };
  }
  try {
    // The default proto root need not exist when the descriptors come from the server.
    const own = config.protos.length === 1 && config.protos[0] === 'protos' && !fs.existsSync('protos') ? [] : config.protos;
    const built = buildSnapshot(Object.freeze({ ...config, protos: [...own, reflected.dir] }), env);
    // The snapshot keeps the configuration as given: the temporary folder is gone once the protos are loaded.
    return built.ok ? { ok: true, snapshot: Object.freeze({ ...built.snapshot, config }) } : built;
  } finally {
    fs.rmSync(reflected.dir, { recursive: true, force: true });
  }
}
