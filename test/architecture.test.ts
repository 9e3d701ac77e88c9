/**
 * The import rules of STYLE.md §2, checked on the source text so a violation fails CI:
 * - the pure core (routing/, transcode/, status/, codec/) and openapi/ never import fastify, grpc-js, pino or OTel;
 * - upstream/ never imports fastify; http/ never reads process.env;
 * - only cli.ts and main.ts (and the worker supervisor they start) touch argv, env or exit;
 * - nothing imports main.ts except cli.ts and the worker supervisor;
 * - the folder edges below (FOLDER_EDGES): which of attache's own folders each folder may import. The pure
 *   core reads no files either (no node:fs), and routing/ knows nothing of upstream policy: snapshot.ts
 *   resolves each method's policy and hands it in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = sources('src').map((f) => ({ file: f.split(path.sep).join('/'), text: fs.readFileSync(f, 'utf8') }));
const importsOf = (text: string): string[] => [...text.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);

const IO_LIBS = /^(fastify|@grpc\/grpc-js|pino|@opentelemetry\/)/;

/**
 * Folder → the other folders (or top-level modules, without `.ts`) under src/ it may import. A folder not
 * listed here (http, telemetry, ops, demo) is an edge and may import the core.
 */
const FOLDER_EDGES: Readonly<Record<string, readonly string[]>> = {
  collections: [],
  codec: [],
  status: ['codec'],
  config: ['status'],
  registry: ['package-dir'],
  routing: ['codec', 'collections', 'config', 'registry'],
  transcode: ['codec', 'routing', 'status'],
  upstream: ['codec', 'config', 'status'],
};

/** The top-level folder (or module) under src/ an import of `file` lands in; undefined for packages. */
function internalTarget(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
  if (!resolved.startsWith('src/')) return undefined;
  const first = resolved.slice(4).split('/')[0]!;
  return first.replace(/\.js$/, '');
}

const folderOf = (file: string): string => file.slice(4).split('/')[0]!.replace(/\.ts$/, '');

describe('import rules (STYLE.md §2)', () => {
  it.each(files.filter((f) => /^src\/(routing|transcode|status|codec)\//.test(f.file)).map((f) => [f.file, f] as const))(
    '%s (pure core) imports no fastify, grpc-js, pino or OTel',
    (_name, f) => {
      expect(importsOf(f.text).filter((i) => IO_LIBS.test(i))).toEqual([]);
    },
  );

  it.each(files.filter((f) => f.file.startsWith('src/openapi/')).map((f) => [f.file, f] as const))(
    '%s (OpenAPI generation) imports no fastify, grpc-js, pino or OTel',
    (_name, f) => {
      expect(importsOf(f.text).filter((i) => IO_LIBS.test(i))).toEqual([]);
    },
  );

  it.each(files.filter((f) => folderOf(f.file) in FOLDER_EDGES).map((f) => [f.file, f] as const))(
    '%s imports only the folders its folder may (FOLDER_EDGES)',
    (_name, f) => {
      const own = folderOf(f.file);
      const allowed = new Set([own, ...FOLDER_EDGES[own]!]);
      const outside = importsOf(f.text)
        .map((i) => internalTarget(f.file, i))
        .filter((t): t is string => t !== undefined && !allowed.has(t));
      expect(outside).toEqual([]);
    },
  );

  it.each(files.filter((f) => /^src\/(routing|transcode|status|codec)\//.test(f.file)).map((f) => [f.file, f] as const))(
    '%s (pure core) reads no files',
    (_name, f) => {
      expect(importsOf(f.text).filter((i) => /^(node:)?fs(\/promises)?$/.test(i))).toEqual([]);
    },
  );

  it.each(files.filter((f) => f.file.startsWith('src/upstream/')).map((f) => [f.file, f] as const))('%s imports no fastify', (_name, f) => {
    expect(importsOf(f.text).filter((i) => i === 'fastify')).toEqual([]);
  });

  it('only the launcher, cli.ts (and the start-up modules it imports first), main.ts and the worker supervisor read argv or env or exit', () => {
    // startup-hold-taken.ts and heap-settings-taken.ts are cli.ts's first imports, split out only so that they run before the libraries load;
    // launch.ts is the launcher that runs before the bundle (it may start node again with glibc's malloc setting).
    const allowed = new Set(['src/launch.ts', 'src/cli.ts', 'src/ops/startup-hold-taken.ts', 'src/ops/heap-settings-taken.ts', 'src/main.ts', 'src/ops/workers.ts']);
    const offenders = files.filter((f) => !allowed.has(f.file) && /process\.(env|argv|exit)\b/.test(f.text.replace(/^\s*(\*|\/\/).*$/gm, '')));
    expect(offenders.map((f) => f.file)).toEqual([]);
  });

  it('nothing but cli.ts and the worker supervisor imports main.ts', () => {
    const offenders = files.filter((f) => !['src/cli.ts', 'src/ops/workers.ts'].includes(f.file) && importsOf(f.text).some((i) => /(^|\/)main\.js$/.test(i)));
    expect(offenders.map((f) => f.file)).toEqual([]);
  });
});
