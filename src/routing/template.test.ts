import { describe, expect, it } from 'vitest';
import { parseTemplate, TemplateError, type Segment } from './template.js';

const lit = (value: string): Segment => ({ kind: 'literal', value });
const star: Segment = { kind: 'wildcard' };
const deep: Segment = { kind: 'deepWildcard' };

describe('parseTemplate: valid templates', () => {
  // [template, canonical toString, segments, variables as [dotted path, start, end], verb]
  it.each<[string, string, Segment[], Array<[string, number, number]>, string | undefined]>([
    ['/', '/', [], [], undefined],
    ['/v1', '/v1', [lit('v1')], [], undefined],
    ['/v1/shelves', '/v1/shelves', [lit('v1'), lit('shelves')], [], undefined],
    ['/*', '/*', [star], [], undefined],
    ['/**', '/**', [deep], [], undefined],
    ['/v1/*/books', '/v1/*/books', [lit('v1'), star, lit('books')], [], undefined],
    ['/v1/**', '/v1/**', [lit('v1'), deep], [], undefined],
    ['/v1/{name}', '/v1/{name}', [lit('v1'), star], [['name', 1, 2]], undefined],
    ['/v1/{name=*}', '/v1/{name}', [lit('v1'), star], [['name', 1, 2]], undefined],
    ['/v1/{name=**}', '/v1/{name=**}', [lit('v1'), deep], [['name', 1, 2]], undefined],
    ['/{path=**}', '/{path=**}', [deep], [['path', 0, 1]], undefined],
    ['/v1/{name=shelves/*}', '/v1/{name=shelves/*}', [lit('v1'), lit('shelves'), star], [['name', 1, 3]], undefined],
    ['/v1/{name=shelves/*/books/*}', '/v1/{name=shelves/*/books/*}', [lit('v1'), lit('shelves'), star, lit('books'), star], [['name', 1, 5]], undefined],
    ['/v1/{name=shelves/**}', '/v1/{name=shelves/**}', [lit('v1'), lit('shelves'), deep], [['name', 1, 3]], undefined],
    ['/v1/{name=shelves}', '/v1/{name=shelves}', [lit('v1'), lit('shelves')], [['name', 1, 2]], undefined],
    ['/v1/{payment.id}', '/v1/{payment.id}', [lit('v1'), star], [['payment.id', 1, 2]], undefined],
    ['/v1/{a.b.c_d}/x/{e}', '/v1/{a.b.c_d}/x/{e}', [lit('v1'), star, lit('x'), star], [['a.b.c_d', 1, 2], ['e', 3, 4]], undefined],
    ['/v1/{a}/{b=x/*}/{c=**}', '/v1/{a}/{b=x/*}/{c=**}', [lit('v1'), star, lit('x'), star, deep], [['a', 1, 2], ['b', 2, 4], ['c', 4, 5]], undefined],
    ['/v1/{a}/{a_b}', '/v1/{a}/{a_b}', [lit('v1'), star, star], [['a', 1, 2], ['a_b', 2, 3]], undefined],
    ['/v1/{a}/{a.b}', '/v1/{a}/{a.b}', [lit('v1'), star, star], [['a', 1, 2], ['a.b', 2, 3]], undefined],
    ['/v1/{name=shelves/*}:cancel', '/v1/{name=shelves/*}:cancel', [lit('v1'), lit('shelves'), star], [['name', 1, 3]], 'cancel'],
    ['/v1/things:batchGet', '/v1/things:batchGet', [lit('v1'), lit('things')], [], 'batchGet'],
    ['/v1/{name}:cancel', '/v1/{name}:cancel', [lit('v1'), star], [['name', 1, 2]], 'cancel'],
    ['/v1/*:cancel', '/v1/*:cancel', [lit('v1'), star], [], 'cancel'],
    ['/v1/{name=**}:undelete', '/v1/{name=**}:undelete', [lit('v1'), deep], [['name', 1, 2]], 'undelete'],
    ['/v1/**:x', '/v1/**:x', [lit('v1'), deep], [], 'x'],
    ['/{x=**}:v', '/{x=**}:v', [deep], [['x', 0, 1]], 'v'],
    // ':' is a pchar: inside a literal it stays; the last ':' of the last segment starts the verb.
    ['/v1/a:b/c', '/v1/a:b/c', [lit('v1'), lit('a:b'), lit('c')], [], undefined],
    ['/v1/a::b', '/v1/a::b', [lit('v1'), lit('a:')], [], 'b'],
    ['/v1/a:b:c', '/v1/a:b:c', [lit('v1'), lit('a:b')], [], 'c'],
    ['/v1/{x=a:b}', '/v1/{x=a:b}', [lit('v1'), lit('a:b')], [['x', 1, 2]], undefined],
    // pchar: unreserved, sub-delims, '@' and %XX escapes (kept as written).
    ["/v1/a-b.c_d~e!$&'()+,;=@", "/v1/a-b.c_d~e!$&'()+,;=@", [lit('v1'), lit("a-b.c_d~e!$&'()+,;=@")], [], undefined],
    ['/v1/%61%2Fb', '/v1/%61%2Fb', [lit('v1'), lit('%61%2Fb')], [], undefined],
    ['/v1/caf%C3%A9:%76erb', '/v1/caf%C3%A9:%76erb', [lit('v1'), lit('caf%C3%A9')], [], '%76erb'],
    ['/_/{_x9}', '/_/{_x9}', [lit('_'), star], [['_x9', 1, 2]], undefined],
  ])('%s', (text, canonical, segments, variables, verb) => {
    const t = parseTemplate(text);
    expect(t.text).toBe(text);
    expect(t.segments).toEqual(segments);
    expect(t.variables.map((v) => [v.fieldPath.join('.'), v.start, v.end])).toEqual(variables);
    expect(t.verb).toBe(verb);
    expect(t.toString()).toBe(canonical);
    expect(`${t}`).toBe(canonical);
    // Round trip: the canonical form parses to the same template.
    const again = parseTemplate(canonical);
    expect(again.segments).toEqual(t.segments);
    expect(again.variables).toEqual(t.variables);
    expect(again.verb).toBe(t.verb);
    expect(again.toString()).toBe(canonical);
  });

  it('returns frozen templates', () => {
    const t = parseTemplate('/v1/{a.b=x/*}:go');
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.segments)).toBe(true);
    expect(Object.isFrozen(t.variables)).toBe(true);
    expect(Object.isFrozen(t.variables[0]?.fieldPath)).toBe(true);
  });
});

describe('parseTemplate: invalid templates', () => {
  it.each<[string, number, string]>([
    ['', 1, "a template must start with '/'"],
    ['v1/things', 1, "a template must start with '/'"],
    ['*', 1, "a template must start with '/'"],
    ['/v1/', 4, "trailing '/' is not allowed"],
    ['/v1/{a}/', 8, "trailing '/' is not allowed"],
    ['//v1', 2, 'empty segment'],
    ['/v1//a', 5, 'empty segment'],
    ['/v1/{x=}', 8, 'empty segment'],
    ['/v1/{x=a/}', 10, 'empty segment'],
    ['/v1/{x=a//b}', 10, 'empty segment'],
    ['/v1/:cancel', 5, 'empty segment'],
    ['/:cancel', 2, 'empty segment'],
    ['/v1/a b', 6, 'invalid character U+0020'],
    ['/v1/a?b', 6, "invalid character '?'"],
    ['/v1/a#b', 6, "invalid character '#'"],
    ['/v1/a"b', 6, "invalid character '\"'"],
    ['/v1/caf\u00e9', 8, 'invalid character U+00E9'],
    ['/v1/a\tb', 6, 'invalid character U+0009'],
    ['/v1/}', 5, "unexpected '}'"],
    ['/v1/a}', 6, "unexpected '}'"],
    ['/v1/*}', 6, "unexpected '}'"],
    ['/v1/a*', 6, "'*' must be a whole segment"],
    ['/v1/*a', 6, "'*' must be a whole segment"],
    ['/v1/***', 7, "'*' must be a whole segment"],
    ['/v1/{x=a*}', 9, "'*' must be a whole segment"],
    ['/v1/a{b}', 6, 'a variable must be a whole segment'],
    ['/v1/{a}b', 8, "expected '/' or ':' after '}'"],
    ['/v1/{a}{b}', 8, "expected '/' or ':' after '}'"],
    ['/v1/{a=x/{b}}', 10, 'variables cannot nest'],
    ['/v1/{a={b}}', 8, 'variables cannot nest'],
    ['/v1/{}', 6, 'expected a field name'],
    ['/v1/{1a}', 6, 'expected a field name'],
    ['/v1/{a.}', 8, 'expected a field name'],
    ['/v1/{.a}', 6, 'expected a field name'],
    ['/v1/{a..b}', 8, 'expected a field name'],
    ['/v1/{a-b}', 7, "expected '.', '=' or '}' after the field name"],
    ['/v1/{a', 7, "unclosed '{' (opened at column 5)"],
    ['/v1/{a=b', 9, "unclosed '{' (opened at column 5)"],
    ['/v1/{a=b/*', 11, "unclosed '{' (opened at column 5)"],
    ['/v1/{x=', 8, "unclosed '{' (opened at column 5)"],
    ['/v1/{x=a/', 10, "unclosed '{' (opened at column 5)"],
    ['/v1/a/{x=b/{y=', 12, 'variables cannot nest'],
    ['/v1/{a}/{a}', 10, "field path 'a' is bound more than once"],
    ['/v1/{a.b}/x/{a.b=**}', 14, "field path 'a.b' is bound more than once"],
    ['/v1/**/a', 5, "'**' must be the last segment"],
    ['/v1/{a=**}/b', 8, "'**' must be the last segment"],
    ['/v1/{a=**/b}', 8, "'**' must be the last segment"],
    ['/**/**', 2, "'**' must be the last segment"],
    ['/v1/{a}:', 9, "expected a verb after ':'"],
    ['/v1/a:', 7, "expected a verb after ':'"],
    ['/v1/{a}:b:c', 10, "a verb may not contain ':'"],
    ['/v1/{a}:x/y', 10, 'the verb must be the last part of the template'],
    ['/v1/*:a?', 8, "invalid character '?'"],
    ['/v1/{a=*:x}', 9, 'a verb cannot appear inside a variable'],
    ['/v1/%zz', 5, "invalid percent-encoding '%zz'"],
    ['/v1/a%4', 6, "invalid percent-encoding '%4'"],
    ['/v1/a%', 6, "invalid percent-encoding '%'"],
    ['/v1/%C3', 5, "percent-encoding '%C3' is not valid UTF-8"],
    ['/v1/%C0%AF', 5, "percent-encoding '%C0' is not valid UTF-8"],
    ['/v1/%ED%A0%80', 5, "percent-encoding '%ED%A0' is not valid UTF-8"],
    ['/v1/{a}:%zz', 9, "invalid percent-encoding '%zz'"],
  ])('%j → column %i: %s', (text, column, reason) => {
    let caught: unknown;
    try {
      parseTemplate(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TemplateError);
    const err = caught as TemplateError;
    expect({ column: err.column, reason: err.reason }).toEqual({ column, reason });
    expect(err.code).toBe('ATTACHE_E_TEMPLATE');
    expect(err.template).toBe(text);
    expect(err.message).toBe(`invalid path template "${text}" at column ${column}: ${reason}`);
  });
});
