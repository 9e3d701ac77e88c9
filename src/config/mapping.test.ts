import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMappings, selectorMatches, selectorSpecificity } from './mapping.js';
import type { HttpRuleSpec, MappingSet } from './mapping.js';
import type { ConfigError } from './errors.js';

/** A virtual file system: path → text; anything else is ENOENT, like fs. */
const files = (map: Record<string, string>) => (p: string): string => {
  const text = map[p];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
  return text;
};

/** Loads one virtual file `m.yaml` holding `lines`. */
function load(...lines: string[]): { mappings: MappingSet; errors: readonly ConfigError[] } {
  return loadMappings(['m.yaml'], files({ 'm.yaml': lines.join('\n') + '\n' }));
}

function ok(...lines: string[]): MappingSet {
  const r = load(...lines);
  expect(r.errors.map(String)).toEqual([]);
  return r.mappings;
}

const rule = (r: Partial<HttpRuleSpec> & Pick<HttpRuleSpec, 'method' | 'path'>, line: number): HttpRuleSpec => ({
  selector: 'a.v1.S.M', body: undefined, responseBody: undefined, additionalBindings: [], loc: { file: 'm.yaml', line }, ...r,
});

describe('loadMappings: the demo mapping file', () => {
  it('parses mappings/payments.yaml to the expected specs with line numbers', () => {
    const { mappings, errors } = loadMappings(['mappings/payments.yaml']);
    expect(errors).toEqual([]);
    const loc = (line: number) => ({ file: 'mappings/payments.yaml', line });
    const charge = 'payments.v1.PaymentService.ChargePayment';
    expect(mappings).toEqual({
      http: [
        {
          selector: charge, method: 'POST', path: '/api/payments/charge', body: '*', responseBody: undefined, loc: loc(8),
          additionalBindings: [{ selector: charge, method: 'POST', path: '/api/v2/charges', body: '*', responseBody: undefined, additionalBindings: [], loc: loc(12) }],
        },
        { selector: 'payments.v1.PaymentService.GetPayment', method: 'GET', path: '/api/payments/{payment_id}', body: undefined, responseBody: undefined, additionalBindings: [], loc: loc(14) },
        { selector: 'payments.v1.PaymentService.RefundPayment', method: 'POST', path: '/api/payments/{payment_id}:refund', body: '*', responseBody: undefined, additionalBindings: [], loc: loc(16) },
        { selector: 'payments.v1.PaymentService.ListPayments', method: 'GET', path: '/api/payments', body: undefined, responseBody: undefined, additionalBindings: [], loc: loc(19) },
        { selector: 'payments.v1.PaymentService.WatchPayments', method: 'GET', path: '/api/payments:watch', body: undefined, responseBody: undefined, additionalBindings: [], loc: loc(22) },
        { selector: 'payments.v1.PaymentService.ChargeBatch', method: 'POST', path: '/api/payments:batch', body: '*', responseBody: undefined, additionalBindings: [], loc: loc(24) },
      ],
      backend: [{ selector: 'payments.v1.*', address: undefined, deadlineMs: 5000, loc: loc(30) }],
      attache: [],
      files: ['mappings/payments.yaml'],
    });
  });

  it('also loads it as the folder `mappings`', () => {
    const { mappings, errors } = loadMappings(['mappings']);
    expect(errors).toEqual([]);
    expect(mappings.files).toEqual(['mappings/payments.yaml']);
    expect(mappings.http).toHaveLength(6);
  });

  it('deep-freezes the result', () => {
    const { mappings } = loadMappings(['mappings']);
    expect(Object.isFrozen(mappings)).toBe(true);
    expect(Object.isFrozen(mappings.http[0]!.additionalBindings[0]!.loc)).toBe(true);
    expect(() => { (mappings.http as HttpRuleSpec[]).pop(); }).toThrow(TypeError);
  });
});

describe('loadMappings: folders', () => {
  it('reads *.yaml and *.yml recursively in sorted order, skipping dot-entries and other files', () => {
    const { mappings, errors } = loadMappings(['test/fixtures/config/mappings']);
    expect(errors).toEqual([]);
    expect(mappings.files).toEqual([
      'test/fixtures/config/mappings/a.yaml',
      'test/fixtures/config/mappings/c.yaml',
      'test/fixtures/config/mappings/sub/b.yml',
    ]);
    expect(mappings.http.map((r) => [r.selector, r.loc.file, r.loc.line])).toEqual([
      ['demo.v1.A.Get', 'test/fixtures/config/mappings/a.yaml', 5],
      ['demo.v1.B.Create', 'test/fixtures/config/mappings/sub/b.yml', 3],
    ]);
    expect(mappings.backend).toEqual([
      { selector: 'demo.v1.*', address: { target: 'b.example.com:443', tls: true }, deadlineMs: undefined, loc: { file: 'test/fixtures/config/mappings/sub/b.yml', line: 8 } },
    ]);
    expect(mappings.attache).toEqual([
      { selector: 'demo.v1.A.Get', json: { emitUnpopulated: true }, loc: { file: 'test/fixtures/config/mappings/c.yaml', line: 3 } },
    ]);
  });

  it('reads a file named twice (directly and through its folder) once', () => {
    const { mappings } = loadMappings(['test/fixtures/config/mappings/a.yaml', 'test/fixtures/config/mappings']);
    expect(mappings.files).toEqual([
      'test/fixtures/config/mappings/a.yaml',
      'test/fixtures/config/mappings/c.yaml',
      'test/fixtures/config/mappings/sub/b.yml',
    ]);
  });

  it('reads a Kubernetes ConfigMap mount once: symlinked files, not the ..data copies', () => {
    // The layout the kubelet writes: a.yaml -> ..data/a.yaml, ..data -> ..2024_01_01_00_00_00.1/
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-cm-'));
    // afterAll inside a test body never runs; the folder is removed here instead.
    try {
      const stamp = path.join(dir, '..2024_01_01_00_00_00.1');
      fs.mkdirSync(stamp);
      fs.writeFileSync(path.join(stamp, 'a.yaml'), 'http:\n  rules:\n    - selector: a.B.C\n      get: /x\n');
      fs.symlinkSync('..2024_01_01_00_00_00.1', path.join(dir, '..data'));
      fs.symlinkSync('..data/a.yaml', path.join(dir, 'a.yaml'));
      fs.symlinkSync('.', path.join(dir, 'loop')); // a folder cycle is walked once
      const { mappings, errors } = loadMappings([dir]);
      expect(errors).toEqual([]);
      expect(mappings.files).toEqual([path.join(dir, 'a.yaml')]);
      expect(mappings.http.map((r) => r.selector)).toEqual(['a.B.C']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves YAML anchors and aliases', () => {
    const m = ok(
      'backend:',
      '  rules:',
      '    - &grpc {selector: a.*, address: "grpc://a:1"}',
      'attache:',
      '  rules:',
      '    - selector: b.*',
      '      json: &lenient {ignoreUnknownFields: true}',
      '    - selector: c.*',
      '      json: *lenient',
    );
    expect(m.backend.map((r) => r.address)).toEqual([{ target: 'a:1', tls: false }]);
    expect(m.attache.map((r) => r.json)).toEqual([{ ignoreUnknownFields: true }, { ignoreUnknownFields: true }]);
  });

  it('reports a missing path and carries on with the others', () => {
    const { mappings, errors } = loadMappings(['no/such/mappings', 'mappings']);
    expect(errors.map(String)).toEqual(['no/such/mappings: no such file or folder']);
    expect(errors[0]!.code).toBe('ATTACHE_E_MAPPING');
    expect(mappings.files).toEqual(['mappings/payments.yaml']);
  });
});

describe('loadMappings: every HttpRule form', () => {
  it.each<[string, string[], HttpRuleSpec]>([
    ['get', ['get: /v1/things/{id}'], rule({ method: 'GET', path: '/v1/things/{id}' }, 3)],
    ['put with body field', ['put: /v1/things/{thing.id}', 'body: thing'], rule({ method: 'PUT', path: '/v1/things/{thing.id}', body: 'thing' }, 3)],
    ['post with body *', ['post: /v1/things', 'body: "*"'], rule({ method: 'POST', path: '/v1/things', body: '*' }, 3)],
    ['delete', ['delete: /v1/{name=things/*}'], rule({ method: 'DELETE', path: '/v1/{name=things/*}' }, 3)],
    ['patch with response_body', ['patch: /v1/things/{id}', 'body: thing', 'response_body: thing'], rule({ method: 'PATCH', path: '/v1/things/{id}', body: 'thing', responseBody: 'thing' }, 3)],
    ['custom HEAD', ['custom: {kind: HEAD, path: "/v1/things/{id}"}'], rule({ method: 'HEAD', path: '/v1/things/{id}' }, 3)],
    ['custom kind is upper-cased', ['custom:', '  kind: options', '  path: /v1/things'], rule({ method: 'OPTIONS', path: '/v1/things' }, 3)],
    ['custom * (any method, per http.proto)', ['custom: {kind: "*", path: /v1/**}'], rule({ method: '*', path: '/v1/**' }, 3)],
    ['empty body and response_body are absent', ['get: /x', 'body: ""', 'response_body: ""'], rule({ method: 'GET', path: '/x' }, 3)],
    ['null pattern next to a real one', ['get: /x', 'post: ~'], rule({ method: 'GET', path: '/x' }, 3)],
    ['JSON names accepted (protojson)', ['patch: /x', 'responseBody: r'], rule({ method: 'PATCH', path: '/x', responseBody: 'r' }, 3)],
    ['additional_bindings', ['get: /v1/a', 'additional_bindings:', '  - get: /v2/a', '  - post: /v2/a:search', '    body: "*"', '    response_body: items'],
      rule({ method: 'GET', path: '/v1/a', additionalBindings: [
        rule({ method: 'GET', path: '/v2/a' }, 6),
        rule({ method: 'POST', path: '/v2/a:search', body: '*', responseBody: 'items' }, 7),
      ] }, 3)],
    ['additionalBindings (JSON name), selector repeated', ['get: /v1/a', 'additionalBindings:', '  - {get: /v2/a, selector: a.v1.S.M}'],
      rule({ method: 'GET', path: '/v1/a', additionalBindings: [rule({ method: 'GET', path: '/v2/a' }, 6)] }, 3)],
  ])('%s', (_name, body, expected) => {
    const m = ok('http:', '  rules:', '    - selector: a.v1.S.M', ...body.map((l) => `      ${l}`));
    expect(m.http).toEqual([expected]);
  });
});

describe('loadMappings: backend rules', () => {
  it.each<[string[], unknown]>([
    [['address: grpc://payments.payment:50051', 'deadline: 5.0'], { address: { target: 'payments.payment:50051', tls: false }, deadlineMs: 5000 }],
    [['address: grpcs://payments.example.com:443'], { address: { target: 'payments.example.com:443', tls: true }, deadlineMs: undefined }],
    [['address: "grpc://[::1]:50051"', 'deadline: 0.25'], { address: { target: '[::1]:50051', tls: false }, deadlineMs: 250 }],
    [['deadline: 0.0001'], { address: undefined, deadlineMs: 1 }],
    [['address: ""', 'deadline: 30'], { address: undefined, deadlineMs: 30_000 }],
    [['address: grpc://a:1', 'protocol: h2', 'path_translation: APPEND_PATH_TO_ADDRESS', 'jwt_audience: x', 'operation_deadline: 3', 'min_deadline: 1', 'disable_auth: true', 'loadBalancingPolicy: ROUND_ROBIN'],
      { address: { target: 'a:1', tls: false }, deadlineMs: undefined }],
  ])('%j', (body, expected) => {
    const m = ok('backend:', '  rules:', '    - selector: "a.v1.*"', ...body.map((l) => `      ${l}`));
    expect(m.backend).toEqual([{ selector: 'a.v1.*', loc: { file: 'm.yaml', line: 3 }, ...(expected as object) }]);
  });
});

describe('loadMappings: the attache extension block', () => {
  it('reads per-rule JSON options', () => {
    const m = ok(
      'attache:',
      '  rules:',
      '    - selector: "payments.v1.*"',
      '      json: { emitUnpopulated: true, useProtoNames: false, enumsAsNumbers: false, int64AsNumbers: true, ignoreUnknownFields: false }',
      '    - selector: payments.v1.PaymentService.GetPayment',
      '      json: {}',
      '    - selector: "*"',
    );
    expect(m.attache).toEqual([
      { selector: 'payments.v1.*', json: { emitUnpopulated: true, useProtoNames: false, enumsAsNumbers: false, int64AsNumbers: true, ignoreUnknownFields: false }, loc: { file: 'm.yaml', line: 3 } },
      { selector: 'payments.v1.PaymentService.GetPayment', json: {}, loc: { file: 'm.yaml', line: 5 } },
      { selector: '*', json: undefined, loc: { file: 'm.yaml', line: 7 } },
    ]);
  });
});

describe('loadMappings: ignored google.api.Service keys', () => {
  it('accepts the keys attache does not use, in either spelling', () => {
    const m = ok(
      'type: google.api.Service', 'config_version: 3', 'name: x.example.com', 'title: X', 'producerProjectId: p',
      'apis: [{name: a.v1.S}]', 'types: []', 'enums: []', 'documentation: {summary: s}', 'usage: {rules: []}',
      'authentication: {providers: []}', 'system_parameters: {}', 'control: {environment: x}', 'logging: {}',
      'monitoring: {}', 'quota: {}', 'endpoints: [{name: x}]', 'context: {}', 'logs: []', 'metrics: []',
      'monitored_resources: []', 'billing: {}', 'source_info: {}', 'publishing: {}', 'id: x',
    );
    expect(m.http).toEqual([]);
    expect(m.files).toEqual(['m.yaml']);
  });

  it('accepts an empty file', () => {
    expect(ok('# nothing yet').files).toEqual(['m.yaml']);
  });
});

describe('loadMappings: errors carry file:line and the rule', () => {
  type Row = [string, string[], string, string | undefined, string];
  const http = (...lines: string[]): string[] => ['http:', '  rules:', ...lines];
  it.each<Row>([
    ['YAML syntax', ['http: [', ''], 'm.yaml:3:1', undefined, 'invalid YAML'],
    ['not a mapping', ['- a'], 'm.yaml:1', undefined, 'must be a google.api.Service mapping, got a list'],
    ['wrong type', ['type: google.api.Other'], 'm.yaml:1', undefined, 'type: expected "google.api.Service", got the string "google.api.Other"'],
    ['unknown top-level key', ['htpp: {}'], 'm.yaml:1', undefined, 'unknown key "htpp" in google.api.Service; did you mean "http"?'],
    ['unknown key in http', ['http:', '  rule: []'], 'm.yaml:2', undefined, 'unknown key "rule" in http (Http); did you mean "rules"?'],
    ['http is not a mapping', ['http: []'], 'm.yaml:1', undefined, 'http: expected a mapping (Http), got a list'],
    ['rules is not a list', ['http:', '  rules: {}'], 'm.yaml:2', undefined, 'http.rules: expected a list of rules, got a mapping'],
    ['rule is not a mapping', http('    - get /x'), 'm.yaml:3', 'http.rules[0]', 'expected a mapping (a rule), got the string "get /x"'],
    ['fully_decode_reserved_expansion', ['http:', '  fully_decode_reserved_expansion: true'], 'm.yaml:2', undefined, 'is not supported'],
    ['missing selector', http('    - get: /x'), 'm.yaml:3', 'http.rules[0]', 'selector: missing or empty'],
    ['empty selector', http('    - get: /x', '      selector: ""'), 'm.yaml:4', 'http.rules[0]', 'selector: missing or empty'],
    ['malformed selector', http('    - selector: a..b', '      get: /x'), 'm.yaml:3', 'a..b', 'selector: "a..b" is not a selector'],
    ['inner wildcard', http('    - selector: a.*.b', '      get: /x'), 'm.yaml:3', 'a.*.b', 'is not a selector'],
    ['partial wildcard', http('    - selector: a.b*', '      get: /x'), 'm.yaml:3', 'a.b*', 'is not a selector'],
    ['comma list', http('    - selector: a.B.C, a.B.D', '      get: /x'), 'm.yaml:3', 'a.B.C, a.B.D', 'is not a selector'],
    ['selector not a string', http('    - selector: 12', '      get: /x'), 'm.yaml:3', 'http.rules[0]', 'selector: expected a string, got the number 12'],
    ['no pattern', http('    - selector: a.B.C', '      body: "*"'), 'm.yaml:3', 'a.B.C', 'no pattern; set one of get, put, post, delete, patch or custom'],
    ['two patterns', http('    - selector: a.B.C', '      get: /x', '      post: /y'), 'm.yaml:5', 'a.B.C', 'several patterns (get, post)'],
    ['pattern plus custom', http('    - selector: a.B.C', '      get: /x', '      custom: {kind: HEAD, path: /x}'), 'm.yaml:5', 'a.B.C', 'several patterns (get, custom)'],
    ['pattern not a string', http('    - selector: a.B.C', '      get: [/x]'), 'm.yaml:4', 'a.B.C', 'get: expected a string, got a list'],
    ['unknown rule key', http('    - selector: a.B.C', '      get: /x', '      gett: /x'), 'm.yaml:5', 'a.B.C', 'unknown key "gett" in an HttpRule; did you mean "get"?'],
    ['same field in both spellings', http('    - selector: a.B.C', '      get: /x', '      response_body: a', '      responseBody: b'), 'm.yaml:6', 'a.B.C', '"responseBody" repeats "response_body"'],
    ['body not a string', http('    - selector: a.B.C', '      post: /x', '      body: 1'), 'm.yaml:5', 'a.B.C', 'body: expected a string, got the number 1'],
    ['custom kind not a token', http('    - selector: a.B.C', '      custom: {kind: "GET THINGS", path: /x}'), 'm.yaml:4', 'a.B.C', 'custom.kind: "GET THINGS" is not an HTTP method token'],
    ['custom kind missing', http('    - selector: a.B.C', '      custom:', '        path: /x'), 'm.yaml:4', 'a.B.C', 'custom.kind: missing'],
    ['custom path missing', http('    - selector: a.B.C', '      custom: {kind: HEAD}'), 'm.yaml:4', 'a.B.C', 'custom.path: missing'],
    ['custom unknown key', http('    - selector: a.B.C', '      custom: {kind: HEAD, path: /x, verb: y}'), 'm.yaml:4', 'a.B.C', 'unknown key "verb" in custom (CustomHttpPattern)'],
    ['custom not a mapping', http('    - selector: a.B.C', '      custom: HEAD /x'), 'm.yaml:4', 'a.B.C', 'custom: expected a mapping {kind, path}'],
    ['nested additional_bindings', http('    - selector: a.B.C', '      get: /x', '      additional_bindings:', '        - get: /y', '          additional_bindings:', '            - get: /z'),
      'm.yaml:7', 'a.B.C', 'additional_bindings[0]: additional_bindings inside an additional binding; google/api/http.proto allows one level only'],
    ['binding without pattern', http('    - selector: a.B.C', '      get: /x', '      additional_bindings:', '        - body: "*"'), 'm.yaml:6', 'a.B.C', 'additional_bindings[0]: no pattern'],
    ['binding with another selector', http('    - selector: a.B.C', '      get: /x', '      additional_bindings:', '        - {get: /y, selector: a.B.D}'), 'm.yaml:6', 'a.B.C', 'additional_bindings[0]: selector: "a.B.D" differs'],
    ['bindings not a list', http('    - selector: a.B.C', '      get: /x', '      additional_bindings: {get: /y}'), 'm.yaml:5', 'a.B.C', 'additional_bindings: expected a list of HttpRules, got a mapping'],
    ['binding not a mapping', http('    - selector: a.B.C', '      get: /x', '      additional_bindings: [/y]'), 'm.yaml:5', 'a.B.C', 'additional_bindings[0]: expected a mapping (an HttpRule), got the string "/y"'],
    ['backend: bad scheme', ['backend:', '  rules:', '    - selector: a.*', '      address: https://a:443'], 'm.yaml:4', 'a.*', 'address: "https://a:443" is not grpc://host:port or grpcs://host:port'],
    ['backend: no port', ['backend:', '  rules:', '    - selector: a.*', '      address: grpc://a'], 'm.yaml:4', 'a.*', 'address: "a" has no port'],
    ['backend: port 0', ['backend:', '  rules:', '    - selector: a.*', '      address: grpc://a:0'], 'm.yaml:4', 'a.*', 'a port is a number from 1 to 65535'],
    ['backend: zero deadline', ['backend:', '  rules:', '    - selector: a.*', '      deadline: 0'], 'm.yaml:4', 'a.*', 'deadline: expected a number of seconds greater than 0, e.g. 5.0, got the number 0'],
    ['backend: deadline as text', ['backend:', '  rules:', '    - selector: a.*', '      deadline: 5s'], 'm.yaml:4', 'a.*', 'got the string "5s"'],
    ['backend: huge deadline', ['backend:', '  rules:', '    - selector: a.*', '      deadline: 9999999'], 'm.yaml:4', 'a.*', 'too long'],
    ['backend: unknown key', ['backend:', '  rules:', '    - selector: a.*', '      adress: grpc://a:1'], 'm.yaml:4', 'a.*', 'unknown key "adress" in a BackendRule; did you mean "address"?'],
    ['backend: missing selector', ['backend:', '  rules:', '    - deadline: 1'], 'm.yaml:3', 'backend.rules[0]', 'selector: missing or empty'],
    ['attache: unknown section', ['attache:', '  rules:', '    - selector: a.*', '      retri: {}'], 'm.yaml:4', 'a.*', 'unknown key "retri" in an attache rule'],
    ['attache: unknown json key', ['attache:', '  rules:', '    - selector: a.*', '      json: {emitUnpopulatd: true}'], 'm.yaml:4', 'a.*', 'json: unknown key "emitUnpopulatd"; did you mean "emitUnpopulated"?'],
    ['attache: global-only json key', ['attache:', '  rules:', '    - selector: a.*', '      json: {maxDepth: 3}'], 'm.yaml:4', 'a.*', 'json: unknown key "maxDepth"'],
    ['attache: json value not a bool', ['attache:', '  rules:', '    - selector: a.*', '      json:', '        useProtoNames: "yes"'], 'm.yaml:5', 'a.*', 'json.useProtoNames: expected true or false, got the string "yes"'],
    ['attache: json not a mapping', ['attache:', '  rules:', '    - selector: a.*', '      json: true'], 'm.yaml:4', 'a.*', 'json: expected a mapping'],
    ['attache: unknown block key', ['attache:', '  rule: []'], 'm.yaml:2', undefined, 'unknown key "rule" in attache (the attache block)'],
    ['attache: missing selector', ['attache:', '  rules:', '    - json: {}'], 'm.yaml:3', 'attache.rules[0]', 'selector: missing or empty'],
  ])('%s', (_name, lines, source, ruleLabel, message) => {
    const { mappings, errors } = load(...lines);
    expect(errors.map(String)).toHaveLength(1);
    const e = errors[0]!;
    expect(e.code).toBe('ATTACHE_E_MAPPING');
    expect(e.source).toBe(source);
    expect(e.rule).toBe(ruleLabel);
    expect(e.message).toContain(message);
    expect([...mappings.http, ...mappings.backend, ...mappings.attache]).toEqual([]);
  });

  it('collects every error across rules and files, keeping the good rules', () => {
    const { mappings, errors } = loadMappings(['a.yaml', 'b.yaml', 'missing.yaml'], files({
      'a.yaml': 'http:\n  rules:\n    - selector: a.B.Good\n      get: /good\n    - selector: a.B.Bad\n    - get: /x\n',
      'b.yaml': 'backend:\n  rules:\n    - selector: a.*\n      deadline: -1\n      address: ftp://x\n',
    }));
    expect(errors.map(String)).toEqual([
      'a.yaml:5: a.B.Bad: no pattern; set one of get, put, post, delete, patch or custom',
      'a.yaml:6: http.rules[2]: selector: missing or empty; name a method, e.g. payments.v1.PaymentService.GetPayment, or a wildcard like payments.v1.*',
      'b.yaml:5: a.*: address: "ftp://x" is not grpc://host:port or grpcs://host:port (TLS); attache calls gRPC backends only',
      'b.yaml:4: a.*: deadline: expected a number of seconds greater than 0, e.g. 5.0, got the number -1',
      'missing.yaml: no such file or folder',
    ]);
    expect(mappings.http.map((r) => r.selector)).toEqual(['a.B.Good']);
    expect(mappings.files).toEqual(['a.yaml', 'b.yaml']);
  });
});

describe('selectorMatches', () => {
  it.each<[string, string, boolean]>([
    ['a.v1.S.M', 'a.v1.S.M', true],
    ['a.v1.S.M', '.a.v1.S.M', true],
    ['a.v1.S.M', 'a.v1.S.N', false],
    ['a.v1.S.M', 'a.v1.S.MM', false],
    ['a.v1.*', 'a.v1.S.M', true],
    ['a.v1.S.*', 'a.v1.S.M', true],
    ['a.*', 'a.v1.S.M', true],
    ['a.v1.*', 'a.v1', false],
    ['a.v1.*', 'a.v10.S.M', false],
    ['a.v1.*', 'b.v1.S.M', false],
    ['*', 'a.v1.S.M', true],
    ['*', 'M', true],
    ['a.*.M', 'a.v1.M', false],
    ['a.v*', 'a.v1.S.M', false],
    ['', 'a.v1.S.M', false],
  ])('%j selects %j: %s', (selector, name, expected) => {
    expect(selectorMatches(selector, name)).toBe(expected);
  });
});

describe('selectorSpecificity', () => {
  it.each<[string, number]>([
    ['*', 0],
    ['a.*', 1],
    ['a.v1.*', 2],
    ['a.v1.S.*', 3],
    ['a.v1.S.M', Number.MAX_SAFE_INTEGER],
    ['a..b', -1],
    ['', -1],
  ])('%j scores %d', (selector, score) => {
    expect(selectorSpecificity(selector)).toBe(score);
  });

  it.each<[string, string]>([
    ['a.v1.S.M', 'a.v1.S.*'],
    ['a.v1.S.*', 'a.v1.*'],
    ['a.v1.*', 'a.*'],
    ['a.*', '*'],
    ['a.v1.S.M', '*'],
  ])('%j is more specific than %j', (more, less) => {
    expect(selectorSpecificity(more)).toBeGreaterThan(selectorSpecificity(less));
  });
});
