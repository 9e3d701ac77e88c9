/**
 * Real protos, every route (issue 17): Google Cloud API packages from the npm package google-proto-files
 * (bench/realworld/build-set.mjs, the bench's largest set: 25 packages, pubsub, kms, logging, dlp, container,
 * spanner admin, … with everything they import, ~1,200 routes), served by a real attache from their
 * google.api.http annotations, in front of a
 * real grpc-js server for every service that answers each method with a "filled" message (every field set:
 * scalars, enums, bytes, nested messages, repeated, maps, oneofs, well-known types; bench/realworld/fill.mjs).
 *
 * One request per route attache serves (its own --check table; bench/realworld/requests.mjs), and each unary
 * answer must be 200 with exactly the proto3 JSON of the backend's message. The other way: every binding
 * with a body gets a filled request message as its JSON body, and the backend must receive exactly that
 * message, with the path's values in the fields the path binds. The oracle is @bufbuild/protobuf's
 * toJson on descriptors compiled by `buf build` (bench/realworld/set.mjs): it passes the protobuf
 * conformance suite and shares no code with attache's codec nor with protobufjs (which attache loads protos
 * with), and it follows json_name, which protobufjs ignores. Its defaults are the mapping's: defaults
 * omitted, 64-bit integers as strings, enums as names, bytes as standard base64, well-known types in their
 * JSON forms (Any with "@type").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fromBinary, ScalarType, toJson, type DescField, type DescMessage, type JsonObject } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../bench/realworld/backend.mjs';
import { buildSet } from '../../bench/realworld/build-set.mjs';
import { fillMessage } from '../../bench/realworld/fill.mjs';
import { checkRoutes, pathBindings, requestsFor, type RouteRequest } from '../../bench/realworld/requests.mjs';
import { loadSet, type ProtoSet } from '../../bench/realworld/set.mjs';
import { startAttache, type TestAttache } from '../support/attache.js';
import { ndjson, request, type HttpResponse } from '../support/http.js';
import { ensureBuilt, REPO } from '../support/process.js';

const PACKAGES = 25;

let tmp: string;
let set: ProtoSet;
let backend: Awaited<ReturnType<typeof startBackend>>;
let attache: TestAttache;
let requests: RouteRequest[];

beforeAll(async () => {
  ensureBuilt();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-realworld-'));
  const dir = path.join(tmp, 'set');
  const mappings = path.join(tmp, 'mappings');
  fs.mkdirSync(mappings);
  buildSet(PACKAGES, dir);
  set = loadSet(dir);
  backend = await startBackend(set);
  requests = requestsFor(set, checkRoutes(path.join(REPO, 'dist'), dir));
  attache = await startAttache(['--protos', dir, '--mappings', mappings, '--upstream', backend.target]);
}, 60_000);

afterAll(async () => {
  await attache?.stop();
  await backend?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Where `got` first differs from `want`, as `path: expected X, got Y`; undefined when they are equal. */
function firstDifference(want: unknown, got: unknown, at = '$'): string | undefined {
  if (isDeepStrictEqual(want, got)) return undefined;
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (Array.isArray(want) && Array.isArray(got) && want.length === got.length) {
    for (let i = 0; i < want.length; i++) {
      const d = firstDifference(want[i], got[i], `${at}[${i}]`);
      if (d) return d;
    }
  }
  if (isObj(want) && isObj(got)) {
    for (const k of new Set([...Object.keys(want), ...Object.keys(got)])) {
      if (!(k in got)) return `${at}.${k}: expected ${JSON.stringify(want[k])}, missing`;
      if (!(k in want)) return `${at}.${k}: not expected, got ${JSON.stringify(got[k])}`;
      const d = firstDifference(want[k], got[k], `${at}.${k}`);
      if (d) return d;
    }
  }
  return `${at}: expected ${JSON.stringify(want)?.slice(0, 300)}, got ${JSON.stringify(got)?.slice(0, 300)}`;
}

function send(q: RouteRequest): Promise<HttpResponse> {
  return request(`${attache.url}${q.path}`, {
    method: q.method,
    headers: { accept: 'application/json', ...(q.contentType ? { 'content-type': q.contentType } : {}) },
    ...(q.body !== undefined ? { body: q.body } : {}),
    timeoutMs: 15_000,
  });
}

/** Runs `fn` over `items`, `width` at a time; resolves with the results in order. */
async function inBatches<T, R>(items: readonly T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

/**
 * A filled request of `input` as proto3 JSON for a binding with `template` and body `bodyField` ('*' or a
 * message field): `body`, what is sent (the whole message, or that field's value), without the fields the
 * path binds, so the path does not contend with the body; `expected`, the message the upstream must get
 * (the body, at its place, plus the path's values). Undefined when a bound field is not a string (its JSON
 * value would not be the path segment as is) or the body field is not a message.
 */
function boundRequest(input: DescMessage, template: string, bodyField: string): { body: JsonObject; expected: JsonObject } | undefined {
  const full = toJson(input, fillMessage(input), { registry: set.registry }) as JsonObject;
  let body: JsonObject;
  let expected: JsonObject;
  if (bodyField === '*') {
    body = full;
    expected = structuredClone(full);
  } else {
    const f = input.fields.find((x) => x.name === bodyField);
    const v = f ? full[f.jsonName] : undefined;
    if (!f || f.fieldKind !== 'message' || typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    body = structuredClone(v);
    expected = { [f.jsonName]: structuredClone(v) };
  }
  for (const { field, value } of pathBindings(template, input)) {
    let desc: DescMessage | undefined = input;
    let inBody: JsonObject | undefined = bodyField === '*' ? body : undefined;
    let inExpected = expected;
    const parts = field.split('.');
    for (const [i, part] of parts.entries()) {
      const f: DescField | undefined = desc?.fields.find((x) => x.name === part);
      if (!f) return undefined;
      // A member of a oneof: its siblings go, from both, as the path sets this one.
      for (const sibling of f.oneof?.fields ?? []) {
        if (sibling === f) continue;
        if (inBody) delete inBody[sibling.jsonName];
        delete inExpected[sibling.jsonName];
      }
      if (i === parts.length - 1) {
        if (f.fieldKind !== 'scalar' || f.scalar !== ScalarType.STRING) return undefined;
        if (inBody) delete inBody[f.jsonName];
        inExpected[f.jsonName] = value;
      } else {
        if (f.fieldKind !== 'message') return undefined;
        desc = f.message;
        inBody = i === 0 && part === bodyField ? body : (inBody?.[f.jsonName] as JsonObject | undefined);
        inExpected = (inExpected[f.jsonName] ??= {}) as JsonObject;
      }
    }
  }
  return { body, expected };
}

describe(`real-world protos (${PACKAGES} Google Cloud API packages)`, () => {
  it('serves every google.api.http binding of the set, and only those', () => {
    const bindings = set.methods.flatMap((m) => m.rules.map((r) => `${r.method} ${r.template} ${m.selector}`)).sort();
    expect(bindings.length).toBeGreaterThan(400);
    expect(requests.map((q) => `${q.method} ${q.template} ${q.selector}`).sort()).toEqual(bindings);
  });

  it('answers every unary route 200 with the backend message in proto3 JSON', async () => {
    const unary = requests.filter((q) => q.kind === 'unary');
    const failures = await inBatches(unary, 8, async (q) => {
      const r = await send(q);
      const where = `${q.method} ${q.path} (${q.selector} → ${backend.responses.get(q.selector)?.method.output.typeName})`;
      if (r.status !== 200) return `${where}: status ${r.status} ${r.body.slice(0, 300)}`;
      const d = firstDifference(backend.responses.get(q.selector)?.json, r.json);
      return d === undefined ? undefined : `${where}: ${d}`;
    });
    expect(unary.length).toBeGreaterThan(400);
    expect(failures.filter((f) => f !== undefined)).toEqual([]);
  }, 60_000);

  it('sends a filled body upstream as exactly that message, the path\'s variables in their fields', async () => {
    const rows = requests.filter((q) => q.kind === 'unary' && q.bodyField !== '');
    const failures: string[] = [];
    const checked = { '*': 0, field: 0 };
    // One at a time: the backend keeps the last request of each method, and bindings share methods.
    for (const q of rows) {
      const input = backend.responses.get(q.selector)!.method.input;
      const r = boundRequest(input, q.template, q.bodyField);
      if (!r) continue;
      checked[q.bodyField === '*' ? '*' : 'field']++;
      const res = await request(`${attache.url}${q.path}`, { method: q.method, body: JSON.stringify(r.body), headers: { 'content-type': 'application/json' }, timeoutMs: 15_000 });
      const where = `${q.method} ${q.path} body ${q.bodyField} (${q.selector}, ${input.typeName})`;
      if (res.status !== 200) {
        failures.push(`${where}: status ${res.status} ${res.body.slice(0, 300)}`);
        continue;
      }
      const got = toJson(input, fromBinary(input, backend.received.get(q.selector)!), { registry: set.registry });
      const d = firstDifference(r.expected, got);
      if (d !== undefined) failures.push(`${where}: ${d}`);
    }
    expect(checked['*']).toBeGreaterThan(300);
    expect(checked.field).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  }, 60_000);

  it('answers the streaming routes with one {"result": …} line per upstream message', async () => {
    const streams = requests.filter((q) => q.kind !== 'unary');
    expect(streams.map((q) => `${q.kind} ${q.selector}`)).toEqual(['bidi google.logging.v2.LoggingServiceV2.TailLogEntries']);
    for (const q of streams) {
      const r = await send(q);
      expect(r.status, r.body).toBe(200);
      expect(r.headers['content-type']).toBe('application/x-ndjson');
      // bench/realworld/backend.mjs answers a bidi call once per request message; the request has one line.
      expect(ndjson(r.body)).toEqual([{ result: backend.responses.get(q.selector)?.json }]);
    }
  });
});
