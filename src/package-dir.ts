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

function findPackageDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'attache') return dir;
    if (path.dirname(dir) === dir) throw new Error(`attache's package.json not found above ${from}`);
  }
}

/** The folder holding attache's package.json. */
export const PACKAGE_DIR = findPackageDir(path.dirname(fileURLToPath(import.meta.url)));

/** The folder holding the bundled google/{api,rpc,type,longrunning,protobuf} protos. */
export const BUNDLED_PROTOS_DIR = path.join(PACKAGE_DIR, 'third_party', 'googleapis');

/** attache's version, from its package.json. */
export function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
