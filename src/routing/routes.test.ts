import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { loadMappings } from '../config/mapping.js';
import { loadRegistry, rpcLineIndex } from '../registry/load.js';
import { resolveMethodPolicy } from '../upstream/policy.js';
import { buildRoutes } from './routes.js';

const registry = loadRegistry(['test/fixtures/e2e']);
const { json, outbound } = (() => {
  const r = loadConfig([], {});
  if (!r.ok) throw new Error('default config must load');
  return r.config;
})();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-routes-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function build(yaml: string, upstream: string | null = '127.0.0.1:1') {
  const file = path.join(tmp, `m${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, `type: google.api.Service\nconfig_version: 3\n${yaml}`);
  const { mappings, errors } = loadMappings([file]);
  expect(errors.map(String)).toEqual([]);
  return buildRoutes({
    registry,
    mappings,
    json,
    defaultUpstream: upstream ?? undefined,
    upstreamTls: outbound.upstreamTls,
    resolvePolicy: (facts) => resolveMethodPolicy(facts, mappings.attache, outbound),
    rpcLine: rpcLineIndex(),
  });
}

const S = 'e2e.v1.EchoService';

describe('buildRoutes', () => {
  it('merges mapping rules with annotations; the mapping rule replaces the annotation', () => {
    const { table, errors } = build(`http:\n  rules:\n    - selector: ${S}.Overridden\n      get: /x/{id}\n`);
    expect(errors).toEqual([]);
    const templates = table.routes.filter((r) => r.selector === `${S}.Overridden`).map((r) => r.template.toString());
    expect(templates).toEqual(['/x/{id}']);
    // Annotation-only methods still get their routes.
    expect(table.routes.some((r) => r.selector === `${S}.GetShelfBook`)).toBe(true);
  });

  it('resolves path variables, body and response_body fields at load time', () => {
    const { table, errors } = build(
      `http:\n  rules:\n    - selector: ${S}.CreateBook\n      post: /s/{id}/b/{book.name}\n      body: book\n      response_body: received\n`,
    );
    expect(errors).toEqual([]);
    const r = table.routes.find((x) => x.selector === `${S}.CreateBook`)!;
    expect(r.grpcPath).toBe(`/${S}/CreateBook`);
    expect([...r.pathFields.keys()]).toEqual(['id', 'book.name']);
    expect(r.body.kind).toBe('field');
    expect(r.responseBody?.name).toBe('received');
    expect([...r.boundPaths].sort()).toEqual(['book', 'book.name', 'id']);
  });

  it('takes the most specific backend rule', () => {
    const { table, errors } = build(
      `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /e/{id}\n` +
        `backend:\n  rules:\n    - selector: "*"\n      address: grpc://a:1\n      deadline: 9\n` +
        `    - selector: "e2e.v1.*"\n      address: grpcs://b:2\n` +
        `    - selector: ${S}.GetEcho\n      deadline: 1.5\n`,
    );
    expect(errors).toEqual([]);
    const r = table.routes.find((x) => x.template.toString() === '/e/{id}')!;
    expect(r.deadlineMs).toBe(1500);
    // The exact rule has no address; the method then uses the default upstream, as ESPv2 does.
    expect(r.upstream).toEqual({ target: '127.0.0.1:1', tls: false });
  });

  it('applies attache rules section by section: a more specific rule without json keeps the wildcard json options', () => {
    const { table, errors } = build(
      `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /e/{id}\n` +
        `attache:\n  rules:\n    - selector: "e2e.v1.*"\n      json: { emitUnpopulated: true }\n` +
        `    - selector: ${S}.GetEcho\n      retry: { maxAttempts: 2 }\n`,
    );
    expect(errors).toEqual([]);
    const r = table.routes.find((x) => x.template.toString() === '/e/{id}')!;
    expect(r.writeOptions.emitUnpopulated).toBe(true);
  });

  it.each([
    ['an unknown method', `http:\n  rules:\n    - selector: ${S}.Nope\n      get: /n\n`, 'ATTACHE_E_UNKNOWN_METHOD'],
    ['a near-miss method name', `http:\n  rules:\n    - selector: ${S}.getecho\n      get: /n\n`, 'did you mean'],
    ['two rules for one method', `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /a\n    - selector: ${S}.GetEcho\n      get: /b\n`, 'ATTACHE_E_DUPLICATE_RULE'],
    ['an unknown field in a template', `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /a/{nope}\n`, 'ATTACHE_E_UNKNOWN_FIELD'],
    ['a repeated path variable', `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /a/{nums}\n`, 'ATTACHE_E_BAD_FIELD'],
    ['a message path variable', `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /a/{book}\n`, 'ATTACHE_E_BAD_FIELD'],
    ['a template that does not parse', `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /a/{id\n`, 'ATTACHE_E_TEMPLATE'],
    ['an unknown body field', `http:\n  rules:\n    - selector: ${S}.Echo\n      post: /a\n      body: nope\n`, 'ATTACHE_E_UNKNOWN_FIELD'],
    ['an unknown response_body field', `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /a\n      response_body: nope\n`, 'ATTACHE_E_UNKNOWN_FIELD'],
    ['a GET with a body', `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /a\n      body: "*"\n`, 'ATTACHE_E_BAD_BODY'],
    ['a custom kind Node cannot parse', `http:\n  rules:\n    - selector: ${S}.GetEcho\n      custom: {kind: FROB, path: /a}\n`, 'ATTACHE_E_BAD_METHOD'],
    ['two rules matching the same requests', `http:\n  rules:\n    - selector: ${S}.GetEcho\n      get: /a/{id}\n    - selector: ${S}.GetThing\n      get: /a/{name}\n`, 'ATTACHE_E_ROUTE_CONFLICT'],
    ['a backend selector matching nothing', `backend:\n  rules:\n    - selector: other.v1.*\n      address: grpc://a:1\n`, 'ATTACHE_E_UNKNOWN_SELECTOR'],
  ])('reports %s', (_name, yaml, expected) => {
    const { errors } = build(yaml);
    expect(errors.map((e) => `${e.code} ${e.source} ${e.rule ?? ''} ${e.message}`).join('\n')).toContain(expected);
    // Every error names where it came from.
    for (const e of errors) expect(e.source).toMatch(/\.(yaml|proto)(:\d+)?/);
  });

  it.each([
    ['GetEcho', 'unary'],
    ['Stream', 'server-stream'],
    ['Collect', 'client-stream'],
    ['Chat', 'bidi'],
  ])('serves %s, a %s method, with its kind (no method kind is refused)', (method, kind) => {
    const { table, errors } = build(`http:\n  rules:\n    - selector: ${S}.${method}\n      post: /k\n      body: "*"\n`);
    expect(errors).toEqual([]);
    expect(table.routes.find((r) => r.template.toString() === '/k')?.kind).toBe(kind);
  });

  it('collects every error instead of stopping at the first', () => {
    const { errors } = build(
      `http:\n  rules:\n    - selector: ${S}.Nope\n      get: /n\n    - selector: ${S}.GetEcho\n      get: /a/{nope}\n    - selector: ${S}.Echo\n      post: /a\n      body: nope\n`,
    );
    expect(errors.length).toBeGreaterThanOrEqual(3);
  });

  it('requires an upstream for every routed method', () => {
    const { errors } = build('', null);
    expect(errors.some((e) => e.code === 'ATTACHE_E_NO_UPSTREAM')).toBe(true);
  });
});
