/**
 * Property-based fuzzing of the request-path parsers: path templates (google/api/http.proto syntax), the
 * `grpc-timeout` and `X-Request-Timeout` values, and the route matcher on hostile paths. Each must either
 * give a value or its own typed error, never throw anything else, and agree with itself (a parsed template
 * prints back to a template that parses to the same text).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTemplate, TemplateError } from '../../src/routing/template.js';
import { parseGrpcTimeout, parseRequestTimeout } from '../../src/upstream/deadline.js';
import { fuzzParams } from '../support/fuzz.js';

/** A field path: `a`, `a.b_c`. */
const fieldPath = fc.array(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), { minLength: 1, maxLength: 3 }).map((p) => p.join('.'));
const literal = fc.stringMatching(/^[A-Za-z0-9\-._~]{1,8}$/);
/** One segment of a valid template, or a variable with a pattern of its own. */
const segment = fc.oneof(literal, fc.constant('*'), fieldPath.map((f) => `{${f}}`), fc.tuple(fieldPath, fc.array(fc.oneof(literal, fc.constant('*')), { minLength: 1, maxLength: 3 })).map(([f, p]) => `{${f}=${p.join('/')}}`));
/** Valid templates: segments, an optional trailing `**` (or a `{x=**}`), an optional `:verb`. */
const validTemplate = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.constantFrom('', '/**', '/{rest=**}'), fc.option(literal, { nil: undefined }))
  .map(([segs, tail, verb]) => `/${segs.join('/')}${tail}${verb !== undefined ? `:${verb}` : ''}`)
  // A field path may be bound only once.
  .filter((t) => {
    const names = [...t.matchAll(/\{([^=}]+)/g)].map((m) => m[1]);
    return new Set(names).size === names.length;
  });
/** Anything template-like, often broken: the characters the grammar cares about, and a few it does not. */
const hostileTemplate = fc.oneof(
  fc.string({ unit: fc.constantFrom('/', '{', '}', '=', '*', ':', '.', 'a', 'b', '%', '2', 'F', 'é', '\u0000', ' ', '?', '#'), maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  validTemplate.chain((t) => fc.nat(t.length).map((i) => t.slice(0, i))),
);

describe('path templates', () => {
  it('any text: a frozen Template or a TemplateError naming a column inside the text, nothing else', () => {
    fc.assert(
      fc.property(hostileTemplate, (text) => {
        try {
          const t = parseTemplate(text);
          expect(Object.isFrozen(t)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(TemplateError);
          const column = (err as TemplateError).column;
          expect(column).toBeGreaterThanOrEqual(1);
          expect(column).toBeLessThanOrEqual(text.length + 1);
        }
      }),
      fuzzParams(2000),
    );
  });

  it('valid templates parse, and print back to text that parses to the same text', () => {
    fc.assert(
      fc.property(validTemplate, (text) => {
        const printed = parseTemplate(text).toString();
        expect(parseTemplate(printed).toString()).toBe(printed);
      }),
      fuzzParams(1000),
    );
  });
});

describe('timeouts', () => {
  const units = { m: 1, S: 1000, M: 60_000, H: 3_600_000 } as const;

  it('grpc-timeout: any text gives undefined or a finite duration ≥ 0; well-formed values give their duration', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 14 }), (v) => {
        const ms = parseGrpcTimeout(v);
        if (ms !== undefined) expect(Number.isFinite(ms) && ms >= 0).toBe(true);
      }),
      fuzzParams(2000),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), fc.constantFrom(...(Object.keys(units) as Array<keyof typeof units>)), (n, u) => {
        expect(parseGrpcTimeout(`${n}${u}`)).toBe(n * units[u]);
      }),
      fuzzParams(1000),
    );
  });

  it('X-Request-Timeout: any text gives undefined or a finite duration ≥ 0', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 14 }), fc.tuple(fc.double({ noNaN: false }), fc.constantFrom('ms', 's', 'm', 'h', '', 'x')).map(([d, u]) => `${d}${u}`)), (v) => {
        const ms = parseRequestTimeout(v);
        if (ms !== undefined) expect(Number.isFinite(ms) && ms >= 0).toBe(true);
      }),
      fuzzParams(2000),
    );
  });
});
