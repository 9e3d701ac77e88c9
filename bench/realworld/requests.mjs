// One concrete HTTP request for every route attache serves from a real-world set, shared by the bench
// (bench/realworld.mjs) and the e2e test (test/e2e/realworld.test.ts).
//
// The routes are what attache's own `--check` prints (so the list is what attache serves, no more, no
// less); each row is joined to its google.api.http binding in the set's descriptors (bench/realworld/set.mjs)
// for the body and the types of the path's fields. Path variables become segments that match their pattern
// (`*` one segment, `**` two) and their field's type; a `:verb` is kept; a binding with a body gets `{}` (or
// the body field's empty form); client and bidi streams get an NDJSON body of one `{}` line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScalarType } from '@bufbuild/protobuf';
import { benchJson, runBounded } from '../lib/processes.mjs';

/**
 * The rows of `--check`'s route table: `[{ method, template, selector, kind }]`. Throws when the output has
 * no table, a row is not `METHOD TEMPLATE SELECTOR KIND …`, or the rows are fewer than its `N route(s) OK`.
 */
export function routesFromCheck(out) {
  const lines = out.split('\n');
  const head = lines.findIndex((l) => /^METHOD\s+TEMPLATE\s+SELECTOR\s+KIND\b/.test(l));
  if (head < 0) throw new Error(`no route table in --check output:\n${out.slice(0, 2000)}`);
  const rows = [];
  for (const line of lines.slice(head + 1)) {
    if (line.trim() === '') break;
    const [method, template, selector, kind] = line.trim().split(/\s+/);
    if (!template?.startsWith('/') || !['unary', 'server-stream', 'client-stream', 'bidi'].includes(kind)) throw new Error(`--check row not understood: ${line}`);
    rows.push({ method, template, selector, kind });
  }
  const total = /^(\d+) route\(s\) OK$/m.exec(out);
  if (!total || Number(total[1]) !== rows.length) throw new Error(`--check listed ${rows.length} routes but says ${total?.[0] ?? 'no count'}: truncated output?`);
  return rows;
}

/**
 * Runs `node DIST/cli.js --check` on the set at `setDir` (annotations only: an empty mappings folder, no
 * upstream) and returns routesFromCheck's rows. Throws with attache's output if it exits non-zero.
 */
export function checkRoutes(dist, setDir) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-rw-check-'));
  const empty = path.join(tmp, 'mappings');
  fs.mkdirSync(empty);
  // The table goes to a file, not a pipe: attache exits right after writing it, and a pipe (64 KiB of
  // kernel buffer) would get only the first ~215 rows of the 25-package set's table.
  const outFile = path.join(tmp, 'check.txt');
  const fd = fs.openSync(outFile, 'w');
  try {
    execFileSync(process.execPath, [path.join(dist, 'cli.js'), '--check', '--protos', setDir, '--mappings', empty], {
      stdio: ['ignore', fd, 'pipe'],
      timeout: 120_000,
    });
    return routesFromCheck(fs.readFileSync(outFile, 'utf8'));
  } catch (e) {
    throw new Error(`attache --check failed: ${e.message}\n${fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8').slice(0, 4000) : ''}`);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The field at dotted proto path `p` of message `desc`, or undefined. */
function fieldAt(desc, p) {
  let d = desc;
  let f;
  for (const part of p.split('.')) {
    if (!d) return undefined;
    f = d.fields.find((x) => x.name === part);
    if (!f) return undefined;
    d = f.fieldKind === 'message' ? f.message : undefined;
  }
  return f;
}

/** One path segment that the field `f` parses (attache reads path values as the field's type). */
function segmentFor(f) {
  if (f?.fieldKind === 'enum') return f.enum.values.find((v) => v.number !== 0)?.name ?? f.enum.values[0].name;
  if (f?.fieldKind !== 'scalar') return 'x1';
  switch (f.scalar) {
    case ScalarType.BOOL:
      return 'true';
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return '1.5';
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return f.scalar === ScalarType.BYTES ? 'AQID' : 'x1';
    default:
      return '7';
  }
}

/** The segments of a pattern (`*`, `**`, literals) made concrete. */
function concrete(segments, star) {
  return segments.map((s) => (s === '**' ? 'a1/b1' : s === '*' ? star : s)).join('/');
}

/** The variables of `template` with the values pathFor gives them: `[{ field, value }]` (field: dotted proto path). */
export function pathBindings(template, input) {
  return [...template.matchAll(/\{([^}=]+)(?:=([^}]*))?\}/g)].map(([, field, pattern]) => ({
    field,
    value: concrete((pattern ?? '*').split('/'), segmentFor(fieldAt(input, field))),
  }));
}

/** The path of `template` with every variable and wildcard replaced by a matching value. */
export function pathFor(template, input) {
  let verb = '';
  const lastSlash = template.lastIndexOf('/');
  const lastBrace = template.lastIndexOf('}');
  const colon = template.indexOf(':', Math.max(lastSlash, lastBrace));
  let p = template;
  if (colon >= 0) {
    verb = template.slice(colon);
    p = template.slice(0, colon);
  }
  const withVars = p.replace(/\{([^}=]+)(?:=([^}]*))?\}/g, (_m, field, pattern) => {
    const f = fieldAt(input, field);
    return concrete((pattern ?? '*').split('/'), segmentFor(f));
  });
  return concrete(withVars.split('/'), 'x1') + verb;
}

/** The JSON of an empty value of the body field `f` (the whole message for '*'). */
function bodyFor(body, input) {
  if (body === '*') return '{}';
  const f = fieldAt(input, body);
  if (!f) throw new Error(`body field ${body} not in ${input.typeName}`);
  if (f.fieldKind === 'list') return '[]';
  if (f.fieldKind === 'message' || f.fieldKind === 'map') return '{}';
  if (f.fieldKind === 'enum') return JSON.stringify(f.enum.values[0].name);
  return f.scalar === ScalarType.STRING || f.scalar === ScalarType.BYTES ? '""' : f.scalar === ScalarType.BOOL ? 'false' : '0';
}

/**
 * One request per row of `routes` (routesFromCheck's), for the loaded `set` (loadSet's):
 * `[{ selector, kind, method, template, bodyField, path, body, contentType }]` (`bodyField`: the binding's
 * `body`, '' for none; `body` a string or undefined). Throws
 * when a row's binding is not among the set's annotations.
 */
export function requestsFor(set, routes) {
  const bySelector = new Map(set.methods.map((m) => [m.selector, m]));
  return routes.map((r) => {
    const m = bySelector.get(r.selector);
    const rule = m?.rules.find((x) => x.method === r.method && x.template === r.template);
    if (!m || !rule) throw new Error(`${r.method} ${r.template} (${r.selector}): no such binding in the set's annotations`);
    const streamIn = r.kind === 'client-stream' || r.kind === 'bidi';
    let body;
    let contentType;
    if (streamIn) {
      body = '{}\n';
      contentType = 'application/x-ndjson';
    } else if (rule.body !== '') {
      body = bodyFor(rule.body, m.input);
      contentType = 'application/json';
    }
    return { selector: r.selector, kind: r.kind, method: r.method, template: r.template, bodyField: rule.body, path: pathFor(r.template, m.input), body, contentType };
  });
}

/** Sends every request once, one at a time, within 180 s in all; resolves with the answers that were not 2xx. */
export async function everyRouteOnce(url, requests) {
  const bad = [];
  const deadline = performance.now() + 180_000;
  for (const q of requests) {
    if (performance.now() > deadline) throw new Error(`one request per route took over 180 s (${bad.length} non-2xx so far)`);
    const r = await fetch(`${url}${q.path}`, {
      method: q.method,
      body: q.body,
      headers: { accept: 'application/json', ...(q.contentType ? { 'content-type': q.contentType } : {}) },
      signal: AbortSignal.timeout(20_000),
    });
    const text = await r.text();
    if (r.status < 200 || r.status > 299) bad.push(`${r.status} ${q.method} ${q.path} (${q.selector}): ${text.slice(0, 300)}`);
  }
  return bad;
}

/** Writes the request list that wrk-routes.lua reads (one `method, path, content type, body` line each). */
export function writeRoutesFile(requests, file) {
  const esc = (b) => (b ?? '').replace(/\n/g, '\\n');
  fs.writeFileSync(file, `${requests.map((q) => `${q.method}\t${q.path}\t${q.contentType ?? ''}\t${esc(q.body)}`).join('\n')}\n`);
}

/**
 * Starts wrk -t1 -c`conc` for `seconds` round-robin over the routes in `routesFile` (wrk-routes.lua), at most
 * `maxRequests` requests, killed 15 s after -d runs out. Resolves with the BENCHJSON object (requests, rps,
 * p50_ms, p99_ms, errors); rejects when wrk printed none.
 */
export function wrkRoutes(url, routesFile, { conc, seconds, maxRequests }) {
  const argv = ['-t1', `-c${conc}`, `-d${seconds}s`, '--latency', '-s', path.join(path.dirname(fileURLToPath(import.meta.url)), 'wrk-routes.lua'), url];
  return runBounded('wrk', argv, { timeoutMs: (seconds + 15) * 1000, env: { ...process.env, BENCH_ROUTES_FILE: routesFile, BENCH_MAX_REQUESTS: String(maxRequests) } }).then((r) => {
    const j = benchJson(r.out);
    if (!j) throw new Error(`no BENCHJSON from wrk:\n${r.out}`);
    return j;
  });
}
