/**
 * Where attache's own files are: the folder holding its package.json, and under it the bundled Google protos,
 * the demo's protos and mappings.
 *
 * Found by walking up from this module rather than by a fixed `../..`, because the same code runs from three
 * depths: src/ under vitest, dist/<dir>/ as tsc emits it, and dist/cli.js as the single bundled file the
 * build produces (scripts/bundle.mjs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Package {
  readonly dir: string;
  readonly version: string;
}

/** The nearest package.json named attache above `from`, read once. */
function findPackage(from: string): Package {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'attache') return { dir, version: typeof pkg.version === 'string' ? pkg.version : 'unknown' };
    }
    if (path.dirname(dir) === dir) throw new Error(`attache's package.json not found above ${from}`);
  }
}

const PACKAGE = findPackage(path.dirname(fileURLToPath(import.meta.url)));

/** The folder holding attache's package.json. */
export const PACKAGE_DIR = PACKAGE.dir;

/** attache's version, from its package.json ("unknown" if it has none). */
export const PACKAGE_VERSION = PACKAGE.version;

/** The folder holding the bundled google/{api,rpc,type,longrunning,protobuf} protos. */
export const BUNDLED_PROTOS_DIR = path.join(PACKAGE_DIR, 'third_party', 'googleapis');
