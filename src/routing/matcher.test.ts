import { describe, expect, it } from 'vitest';
import { buildMatcher, type LookupResult, type Matcher, type RouteEntry } from './matcher.js';
import { parseTemplate } from './template.js';

/** 'GET /v1/{a}' → an entry whose value and source are that same text. */
function entry(spec: string): RouteEntry<string> {
  const [method, template] = spec.split(' ') as [string, string];
  return { method, template: parseTemplate(template), value: spec, source: spec };
}

function build(specs: readonly string[]): Matcher<string> {
  const { matcher, conflicts } = buildMatcher(specs.map(entry));
  expect(conflicts).toEqual([]);
  return matcher;
}

/** A one-line summary: 'GET /v1/{a} a=x b.c=y', '404', '405 GET,POST' or '400 <reason>'. */
function summary(result: LookupResult<string>): string {
  switch (result.kind) {
    case 'match':
      return [result.value, ...result.bindings.map((b) => `${b.fieldPath.join('.')}=${b.value}`)].join(' ');
    case 'notFound':
      return '404';
    case 'methodNotAllowed':
      return `405 ${result.allow.join(',')}`;
    case 'badPath':
      return `400 ${result.reason}`;
  }
}

/** The same routes in the given order, reversed, and rotated: precedence must not depend on it. */
function orders(specs: readonly string[]): string[][] {
  const half = Math.floor(specs.length / 2);
  return [[...specs], [...specs].reverse(), [...specs.slice(half), ...specs.slice(0, half)]];
}

function expectLookup(specs: readonly string[], method: string, path: string, expected: string): void {
  for (const order of orders(specs)) {
    expect(summary(build(order).lookup(method, path)), `order: ${order.join(' | ')}`).toBe(expected);
  }
}

describe('precedence: literal > * > **, compared from the left, order-independent', () => {
  const routes = [
    'GET /v1',
    'GET /v1/shelves/{shelf}',
    'GET /v1/shelves/{shelf}/books/{book}',
    'GET /v1/shelves/special/books/{book}',
    'GET /v1/shelves/{shelf}/books/special',
    'GET /v1/*/x',
    'GET /v1/a/{rest=**}',
    'GET /v1/{name=**}',
    'GET /{all=**}',
  ];
  it.each<[string, string]>([
    ['/v1/shelves/s1/books/b1', 'GET /v1/shelves/{shelf}/books/{book} shelf=s1 book=b1'],
    ['/v1/shelves/special/books/b1', 'GET /v1/shelves/special/books/{book} book=b1'],
    // Both literal-bearing routes match; the leftmost difference (segment 3) decides.
    ['/v1/shelves/special/books/special', 'GET /v1/shelves/special/books/{book} book=special'],
    ['/v1/shelves/s1/books/special', 'GET /v1/shelves/{shelf}/books/special shelf=s1'],
    ['/v1/shelves/s1', 'GET /v1/shelves/{shelf} shelf=s1'],
    ['/v1/shelves/s1/other', 'GET /v1/{name=**} name=shelves/s1/other'],
    // Segment 2: the literal 'a' beats '*', even though '/v1/*/x' is longer.
    ['/v1/a/x', 'GET /v1/a/{rest=**} rest=x'],
    ['/v1/b/x', 'GET /v1/*/x'],
    ['/v1/a/b/c', 'GET /v1/a/{rest=**} rest=b/c'],
    // '**' matches zero segments, but an exact-length route wins.
    ['/v1/a', 'GET /v1/a/{rest=**} rest='],
    ['/v1', 'GET /v1'],
    ['/v2/x', 'GET /{all=**} all=v2/x'],
    ['/', 'GET /{all=**} all='],
    ['/V1', 'GET /{all=**} all=V1'], // case-sensitive
  ])('GET %s → %s', (path, expected) => {
    expectLookup(routes, 'GET', path, expected);
  });

  it('a route of the exact length beats a trailing ** matching nothing, in any order', () => {
    expectLookup(['GET /{a}', 'GET /{a}/{b=**}'], 'GET', '/x', 'GET /{a} a=x');
    expectLookup(['GET /{a}', 'GET /{a}/{b=**}'], 'GET', '/x/y', 'GET /{a}/{b=**} a=x b=y');
    expectLookup(['GET /', 'GET /{p=**}'], 'GET', '/', 'GET /');
  });
});

describe('verbs', () => {
  const routes = [
    'GET /v1/{name=shelves/*}:cancel',
    'POST /v1/{name=shelves/*}:cancel',
    'GET /v1/{name=shelves/*}',
    'GET /v1/things/{id}',
    'GET /v1/things:batchGet',
    'GET /v1/files/{path=**}:download',
    'GET /v1/a:b/{id}',
  ];
  it.each<[string, string, string]>([
    ['GET', '/v1/shelves/1:cancel', 'GET /v1/{name=shelves/*}:cancel name=shelves/1'],
    ['POST', '/v1/shelves/1:cancel', 'POST /v1/{name=shelves/*}:cancel name=shelves/1'],
    ['GET', '/v1/shelves/1', 'GET /v1/{name=shelves/*} name=shelves/1'],
    // No route has the verb 'archive': the ':' is data of the no-verb route.
    ['GET', '/v1/shelves/1:archive', 'GET /v1/{name=shelves/*} name=shelves/1:archive'],
    // A colon inside a path variable, no verb route for it.
    ['GET', '/v1/things/a:b', 'GET /v1/things/{id} id=a:b'],
    ['GET', '/v1/things/a:b:c', 'GET /v1/things/{id} id=a:b:c'],
    ['GET', '/v1/things:batchGet', 'GET /v1/things:batchGet'],
    ['GET', '/v1/things', '404'],
    ['GET', '/v1/things:batchget', '404'],
    ['GET', '/v1/files/a/b/c.txt:download', 'GET /v1/files/{path=**}:download path=a/b/c.txt'],
    ['GET', '/v1/files:download', 'GET /v1/files/{path=**}:download path='],
    // An escaped ':' is never a verb separator; an escaped verb is compared decoded.
    ['GET', '/v1/shelves/1%3Acancel', 'GET /v1/{name=shelves/*} name=shelves/1:cancel'],
    ['GET', '/v1/shelves/1:%63ancel', 'GET /v1/{name=shelves/*}:cancel name=shelves/1'],
    // A ':' in a non-final literal.
    ['GET', '/v1/a:b/7', 'GET /v1/a:b/{id} id=7'],
    ['GET', '/v1/a%3Ab/7', 'GET /v1/a:b/{id} id=7'],
    ['PUT', '/v1/shelves/1:cancel', '405 GET,POST'],
  ])('%s %s → %s', (method, path, expected) => {
    expectLookup(routes, method, path, expected);
  });
});

describe('** inside variables, and nested field paths', () => {
  const routes = [
    'GET /v2/{name=shelves/**}',
    'GET /v2/{name=shelves/*/books/*}',
    'GET /v3/{payment.id}/refunds/{refund.meta.key=r/*}',
    'GET /v3/{a.b}/{c.d.e=**}',
  ];
  it.each<[string, string]>([
    ['/v2/shelves/1/books/2', 'GET /v2/{name=shelves/*/books/*} name=shelves/1/books/2'],
    ['/v2/shelves/1/books', 'GET /v2/{name=shelves/**} name=shelves/1/books'],
    ['/v2/shelves/1/books/2/pages/3', 'GET /v2/{name=shelves/**} name=shelves/1/books/2/pages/3'],
    ['/v2/shelves', 'GET /v2/{name=shelves/**} name=shelves'],
    ['/v2/shelves/a%2Fb/c', 'GET /v2/{name=shelves/**} name=shelves/a%2Fb/c'],
    ['/v2/other', '404'],
    ['/v3/p1/refunds/r/k1', 'GET /v3/{payment.id}/refunds/{refund.meta.key=r/*} payment.id=p1 refund.meta.key=r/k1'],
    ['/v3/p1/refunds/x/k1', 'GET /v3/{a.b}/{c.d.e=**} a.b=p1 c.d.e=refunds/x/k1'],
    ['/v3/p1', 'GET /v3/{a.b}/{c.d.e=**} a.b=p1 c.d.e='],
  ])('GET %s → %s', (path, expected) => {
    expectLookup(routes, 'GET', path, expected);
  });

  it('hands out the template field path arrays', () => {
    const m = build(['GET /v3/{payment.id}']);
    const result = m.lookup('GET', '/v3/p1');
    expect(result.kind === 'match' && result.bindings[0]?.fieldPath).toEqual(['payment', 'id']);
  });
});

describe('percent-encoding', () => {
  const routes = [
    'GET /p/{id}',
    'GET /p/{id}/raw/{rest=**}',
    'GET /p/a/lit',
    'GET /p/x/{multi=m/*}',
    'GET /p/caf%C3%A9/menu',
    'GET /p/a%2Fb/slash',
    'GET /p/100%25/pct',
    'GET /p/star/%2A',
  ];
  it.each<[string, string]>([
    // A single-segment variable decodes everything, %2F included.
    ['/p/a%2Fb', 'GET /p/{id} id=a/b'],
    ['/p/a%2fb', 'GET /p/{id} id=a/b'],
    ['/p/caf%C3%A9', 'GET /p/{id} id=café'],
    ['/p/a%20b%3Fc%23d%25e', 'GET /p/{id} id=a b?c#d%e'],
    ['/p/%2A', 'GET /p/{id} id=*'],
    ['/p/*', 'GET /p/{id} id=*'],
    ['/p/%00', 'GET /p/{id} id=\u0000'],
    // A multi-segment variable keeps %2F/%2f as received and decodes the rest, its literals included.
    ['/p/x/m/a%2Fb', 'GET /p/x/{multi=m/*} multi=m/a%2Fb'],
    ['/p/x/m/a%20b', 'GET /p/x/{multi=m/*} multi=m/a b'],
    ['/p/x/%6D/q', 'GET /p/x/{multi=m/*} multi=m/q'],
    ['/p/1/raw/a%2Fb/c%2f', 'GET /p/{id}/raw/{rest=**} id=1 rest=a%2Fb/c%2f'],
    // Literals compare decoded: %61 is 'a'; a decoded '/' stays inside its segment.
    ['/p/%61/lit', 'GET /p/a/lit'],
    ['/p/%61/%6C%69%74', 'GET /p/a/lit'],
    ['/p/caf%c3%a9/menu', 'GET /p/caf%C3%A9/menu'],
    ['/p/a%2Fb/slash', 'GET /p/a%2Fb/slash'],
    ['/p/a/b/slash', '404'],
    ['/p/100%25/pct', 'GET /p/100%25/pct'],
    ['/p/star/*', 'GET /p/star/%2A'],
    ['/p/star/%2a', 'GET /p/star/%2A'],
    ['/p/a/LIT', '404'],
    // Bad escapes are a 400, wherever they are and whether or not a route could match.
    ['/p/%zz', "400 invalid percent-encoding '%zz' in the path at offset 3"],
    ['/p/a%4', "400 invalid percent-encoding '%4' in the path at offset 4"],
    ['/p/%C3%28', "400 percent-encoding '%C3%28' is not valid UTF-8 in the path at offset 3"],
    ['/p/ok/raw/%E0%80%80', "400 percent-encoding '%E0%80' is not valid UTF-8 in the path at offset 10"],
    ['/nothing/here/%zz', "400 invalid percent-encoding '%zz' in the path at offset 14"],
    ['/p/x:%zz', "400 invalid percent-encoding '%zz' in the path at offset 5"],
  ])('GET %s → %s', (path, expected) => {
    expectLookup(routes, 'GET', path, expected);
  });
});

describe('404 and 405', () => {
  const routes = [
    'GET /q/{id}',
    'DELETE /q/{id}',
    'POST /q',
    'PATCH /q/{id}:touch',
    'LIST /q/{id}:touch',
    'HEAD /h',
  ];
  it.each<[string, string, string]>([
    ['POST', '/q/1', '405 DELETE,GET'],
    ['PUT', '/q', '405 POST'],
    ['GET', '/q', '405 POST'],
    ['GET', '/h', '405 HEAD'],
    ['HEAD', '/h', 'HEAD /h'],
    ['LIST', '/q/1:touch', 'LIST /q/{id}:touch id=1'],
    // The no-verb reading of the path counts too: GET /q/{id} matches '/q/1:touch' with id '1:touch'.
    ['GET', '/q/1:touch', 'GET /q/{id} id=1:touch'],
    ['POST', '/q/1:touch', '405 DELETE,GET,LIST,PATCH'],
    ['get', '/q/1', '405 DELETE,GET'], // methods compare exactly (RFC 9110 §9.1)
    ['GET', '/r', '404'],
    ['GET', '/q/1/2', '404'],
    ['GET', '/q/1/', '404'],
    ['GET', '', '404'],
    ['GET', 'q/1', '404'],
    ['OPTIONS', '*', '404'],
  ])('%s %j → %s', (method, path, expected) => {
    expectLookup(routes, method, path, expected);
  });

  it('does not fold trailing slashes', () => {
    const m = build(['GET /t/lit', 'GET /t/{id}']);
    expect(summary(m.lookup('GET', '/t/lit/'))).toBe('404');
    // An empty last segment is a segment: '*' matches it (as in grpc-gateway); the caller sees id ''.
    expect(summary(m.lookup('GET', '/t/'))).toBe('GET /t/{id} id=');
  });
});

describe('conflicts', () => {
  it.each<[string, string]>([
    ['GET /v1/{a}', 'GET /v1/{b}'],
    ['GET /v1/{a}', 'GET /v1/{a}'],
    ['GET /v1/{a=*}', 'GET /v1/*'],
    ['GET /v1/a', 'GET /v1/%61'],
    ['GET /v1/{a=**}', 'GET /v1/**'],
    ['GET /v1/{a}:x', 'GET /v1/{b}:%78'],
    ['GET /v1/{a}/{b=c/*}', 'GET /v1/{x=*/c}/{y}'],
    ['LIST /v1/{a}', 'LIST /v1/*'],
  ])('%s and %s', (first, second) => {
    const entries = [entry(first), entry(second), entry('GET /other')];
    const { matcher, conflicts } = buildMatcher(entries);
    const later = entries[1] as RouteEntry<string>;
    expect(conflicts).toEqual([
      {
        first,
        second,
        reason: `'${later.method} ${later.template.toString()}' matches exactly the same requests as '${entries[0]?.method} ${entries[0]?.template.toString()}'`,
      },
    ]);
    // The later entry is left out; the first one serves.
    expect(matcher.entries.map((e) => e.value)).toEqual([first, 'GET /other']);
  });

  it.each<[string, string]>([
    ['GET /v1/{a}', 'POST /v1/{a}'],
    ['GET /v1/{a}', 'GET /v1/{a}:cancel'],
    ['GET /v1/{a}:x', 'GET /v1/{a}:y'],
    ['GET /v1/{a}:x', 'POST /v1/{a}:x'],
    ['GET /v1/{a}', 'GET /v1/{a=**}'],
    ['GET /v1/a', 'GET /v1/{a=**}'],
    ['GET /v1', 'GET /v1/{a=**}'],
    ['GET /v1/A', 'GET /v1/a'],
    ['GET /v1/{a}', 'GET /v1/{a=x}'],
  ])('none between %s and %s', (first, second) => {
    const { matcher, conflicts } = buildMatcher([entry(first), entry(second)]);
    expect(conflicts).toEqual([]);
    expect(matcher.entries).toHaveLength(2);
  });

  it('reports every duplicate against the entry that was kept', () => {
    const { conflicts } = buildMatcher(['GET /v1/{a}', 'GET /v1/{b}', 'GET /v1/{c}'].map(entry));
    expect(conflicts.map((c) => [c.first, c.second])).toEqual([
      ['GET /v1/{a}', 'GET /v1/{b}'],
      ['GET /v1/{a}', 'GET /v1/{c}'],
    ]);
  });
});

describe('scale', () => {
  function table(services: number): string[] {
    const specs: string[] = [];
    for (let i = 0; i < services; i++) {
      specs.push(`GET /svc${i}/items/{id}`, `POST /svc${i}/items`, `POST /svc${i}/items/{id}:cancel`, `GET /svc${i}/items/{id}/parts/{part=**}`);
    }
    return specs;
  }
  it.each<[number]>([[10], [10_000]])('looks up in a table of %i services', (services) => {
    const { matcher, conflicts } = buildMatcher(table(services).map(entry));
    expect(conflicts).toEqual([]);
    expect(matcher.entries).toHaveLength(services * 4);
    const last = services - 1;
    expect(summary(matcher.lookup('GET', `/svc${last}/items/42`))).toBe(`GET /svc${last}/items/{id} id=42`);
    expect(summary(matcher.lookup('POST', `/svc${last}/items/42:cancel`))).toBe(`POST /svc${last}/items/{id}:cancel id=42`);
    expect(summary(matcher.lookup('GET', '/svc7/items/1/parts/a/b'))).toBe('GET /svc7/items/{id}/parts/{part=**} id=1 part=a/b');
    expect(summary(matcher.lookup('DELETE', '/svc0/items/1'))).toBe('405 GET');
    expect(summary(matcher.lookup('GET', `/svc${services}/items/1`))).toBe('404');
  });
});

describe('the matcher', () => {
  it('is frozen and keeps the entries in input order', () => {
    const specs = ['GET /b', 'GET /a', 'POST /a'];
    const { matcher } = buildMatcher(specs.map(entry));
    expect(Object.isFrozen(matcher)).toBe(true);
    expect(Object.isFrozen(matcher.entries)).toBe(true);
    expect(matcher.entries.map((e) => e.value)).toEqual(specs);
  });

  it('works with no entries', () => {
    const { matcher, conflicts } = buildMatcher<string>([]);
    expect(conflicts).toEqual([]);
    expect(summary(matcher.lookup('GET', '/'))).toBe('404');
    expect(summary(matcher.lookup('GET', '/%zz'))).toBe("400 invalid percent-encoding '%zz' in the path at offset 1");
  });
});
