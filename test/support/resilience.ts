/**
 * Helpers for the resilience tests: a mapping file written to a temp folder (for `attache: rules:` and
 * `backend.rules`), and attache started against the resilience fixture with extra flags.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAttache, type TestAttache } from './attache.js';
import { RES_PROTOS_DIR } from './flaky-server.js';

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'attache-res-'): { readonly dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a google.api.Service mapping file holding `body` (YAML under the header) and returns its path. */
export function writeMapping(dir: string, body = '', name = 'mapping.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `type: google.api.Service\nconfig_version: 3\n${body}`);
  return file;
}

/** Starts attache on the fixture protos with `mappingFile`, upstream `target` (if any) and `flags`. */
export function startResAttache(mappingFile: string, target: string | undefined, flags: readonly string[] = []): Promise<TestAttache> {
  return startAttache(['--protos', RES_PROTOS_DIR, '--mappings', mappingFile, ...(target ? ['--upstream', target] : []), ...flags]);
}
