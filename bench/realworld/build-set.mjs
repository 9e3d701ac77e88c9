// Builds the real-world proto set of the performance bench from the npm package google-proto-files (a
// devDependency; the protos are not committed): the first N of 25 Google Cloud API packages below, each
// with every .proto of its version folder, plus everything they import (transitively), copied into
// OUT/<N>/ as one import root. attache loads every .proto under a root, so the set is the packages and
// their imports, with their google.api.http annotations as the routes.
// Usage: node bench/realworld/build-set.mjs [--out .bench-out/realworld] [--sizes 1,5,25]
// Prints one line per size: services, files, HTTP rules (annotations incl. additional_bindings).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The 25 API packages, in the order the 1- and 5-package subsets take them. */
export const PACKAGES = [
  'google/pubsub/v1',
  'google/cloud/kms/v1',
  'google/logging/v2',
  'google/privacy/dlp/v2',
  'google/cloud/secretmanager/v1',
  'google/container/v1',
  'google/cloud/tasks/v2',
  'google/cloud/scheduler/v1',
  'google/cloud/functions/v2',
  'google/cloud/run/v2',
  'google/cloud/redis/v1',
  'google/cloud/language/v2',
  'google/cloud/translate/v3',
  'google/cloud/vision/v1',
  'google/cloud/speech/v2',
  'google/iam/admin/v1',
  'google/cloud/resourcemanager/v3',
  'google/cloud/bigquery/datatransfer/v1',
  'google/cloud/workflows/v1',
  'google/cloud/dataproc/v1',
  'google/monitoring/v3',
  'google/cloud/securitycenter/v1',
  'google/spanner/admin/database/v1',
  'google/firestore/admin/v1',
  'google/cloud/iot/v1',
];

const require = createRequire(import.meta.url);
const ROOT = path.dirname(require.resolve('google-proto-files/package.json'));
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const importsOf = (text) => [...text.matchAll(/^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm)].map((m) => m[1]);

/** Every .proto of the first `n` packages and their import closure, as paths relative to the root. */
export function closure(n) {
  const seen = new Set();
  const queue = PACKAGES.slice(0, n).flatMap((dir) =>
    fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith('.proto')).map((f) => `${dir}/${f}`));
  while (queue.length > 0) {
    const rel = queue.pop();
    if (seen.has(rel)) continue;
    seen.add(rel);
    const file = path.join(ROOT, rel);
    if (!fs.existsSync(file)) throw new Error(`${rel}: imported but not in google-proto-files`);
    queue.push(...importsOf(fs.readFileSync(file, 'utf8')));
  }
  return [...seen].sort();
}

/** Writes the set of `n` packages into `dir` (replacing it); returns what it holds. */
export function buildSet(n, dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  let rules = 0;
  let services = 0;
  const files = closure(n);
  for (const rel of files) {
    const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    rules += (text.match(/\b(get|put|post|delete|patch)\s*:\s*"/g) ?? []).length;
    services += (text.match(/^service\s+\w+/gm) ?? []).length;
    fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return { packages: n, services, files: files.length, rules };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const out = path.resolve(REPO, arg('out', '.bench-out/realworld'));
  for (const n of arg('sizes', '1,5,25').split(',').map(Number)) {
    const info = buildSet(n, path.join(out, String(n)));
    console.log(`${path.join(out, String(n))}: ${info.packages} packages, ${info.services} services, ${info.files} files, ${info.rules} HTTP rules`);
  }
}
