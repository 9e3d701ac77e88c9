/**
 * Why attache starts its client spans itself instead of relying on @opentelemetry/instrumentation-grpc
 * (see src/telemetry/tracing.ts): under ESM the instrumentation's require hook does not see
 * `import '@grpc/grpc-js'`, so whether grpc-js gets patched depends on whether some later code happens to
 * `require` it. Checked in a plain `node` process, since vitest's module runner loads modules its own way.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../fixtures/telemetry/esm-grpc-instrumentation.mjs', import.meta.url));

describe('@opentelemetry/instrumentation-grpc under ESM', () => {
  it('does not patch grpc-js on import; only a later require() of the same module does', () => {
    const out = execFileSync(process.execPath, [SCRIPT], { encoding: 'utf8', timeout: 15_000 });
    expect(JSON.parse(out.trim())).toEqual({ afterImport: false, afterRequire: true, sameExports: true });
  });
});
