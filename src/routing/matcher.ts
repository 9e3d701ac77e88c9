/**
 * The route matcher: (HTTP method, raw request path) → the route and its decoded path bindings.
 *
 * Matching is done by a segment trie (segment-router.ts) whose match order per segment — literal, then
 * parameter, then rest wildcard, backtracking on failure — is HttpRule precedence: comparing segment by
 * segment from the left, a literal beats `*`, which beats `**`. It does not depend on registration order.
 * (It is find-my-way's order; find-my-way did this job until it cost too much per route on large API sets,
 * and stays the oracle in the router's tests.)
 *
 * How a template becomes a router route (never by regex rewriting: the template is already parsed):
 * - every segment is one router segment: a literal becomes its text (decoded, then escaped below), `*` a
 *   parameter, and a trailing `**` the rest wildcard;
 * - variables vanish: after the router picks the route, each variable's value is cut from the RAW path by
 *   segment index and decoded per google/api/http.proto;
 * - the verb selects the router: there is one set of routers per verb ('' for none). A request whose last
 *   segment holds a ':' first tries the routers of the verb after the last ':' with the verb stripped, then
 *   the no-verb routers with the whole path, so that `/v1/{name}` still matches `/v1/a:b`;
 * - the method selects the router too: one router per (verb, method). That keeps precedence per method (a
 *   GET literal must not hide a GET variable route behind a POST-only literal) and admits HttpRule `custom`
 *   kinds.
 *
 * Percent-encoding. Literal segments compare after decoding (so `%61` matches the literal `a`), and a
 * decoded '/' never splits a segment: http.proto has the server "do the reverse decoding" of the client's
 * expansion, segment by segment, and `%3A` must match a literal ':' in whatever hex case it came. So a path
 * that holds a '%' is rewritten, segment by segment, to its decoded text, with the characters the segment
 * structure would misread ('/', and '%', '?', '#', '*', which the former router read specially) replaced
 * by two-character escapes introduced by a NUL (NUL itself is escaped too). Template literals go through
 * the same function at build time, so both sides compare in one form. Paths without such characters —
 * almost all of them — are matched untouched.
 */
import { decodePercent, type PercentError } from './percent.js';
import { SegmentRouter, type RoutePart } from './segment-router.js';
import type { Template } from './template.js';

export interface RouteEntry<T> {
  /** Compared exactly with the request method: upper-case, e.g. 'GET', or a custom kind like 'HEAD'. */
  readonly method: string;
  readonly template: Template;
  readonly value: T;
  /** For messages, e.g. 'mappings/payments.yaml:12 (payments.v1.PaymentService.GetPayment)'. */
  readonly source: string;
}

/**
 * One path variable's value. Per http.proto: a single-segment variable (`{x}`, `{x=*}`, `{x=lit}`) has every
 * %XX decoded, '%2F' included; a multi-segment one (`{x=a/*}`, `{x=**}`) has everything decoded except
 * `%2F`/`%2f`, which stay as received. A multi-segment variable captures its literal segments too
 * (`{name=shelves/*}` → 'shelves/1'); `**` captures the rest of the path, verb excluded, as received
 * (possibly empty, possibly with empty segments).
 */
export interface Binding {
  readonly fieldPath: readonly string[];
  readonly value: string;
}

export type LookupResult<T> =
  | { readonly kind: 'match'; readonly value: T; readonly bindings: readonly Binding[] }
  | { readonly kind: 'notFound' }
  | { readonly kind: 'methodNotAllowed'; readonly allow: readonly string[] } // sorted
  | { readonly kind: 'badPath'; readonly reason: string };

export interface Matcher<T> {
  /**
   * rawPath: the request target's path as received (still percent-encoded), without '?query'.
   *
   * Never throws. 'badPath' when the path holds a malformed escape (`%zz`, `%4`) or escapes that are not
   * UTF-8, wherever they are; 'methodNotAllowed' when no route for `method` matches but routes for other
   * methods do; 'notFound' otherwise (also for a path that does not start with '/').
   */
  lookup(method: string, rawPath: string): LookupResult<T>;
  /** The entries in service, in input order: every input entry except the conflicting ones. */
  readonly entries: readonly RouteEntry<T>[];
}

export interface RouteConflict {
  readonly first: string;
  readonly second: string;
  readonly reason: string;
}

type Router = SegmentRouter<CompiledRoute<unknown>>;

/** Introduces a two-character escape in router paths; see the module comment. */
const ESC = '\u0000';

/**
 * A raw path character that routerPath() must rewrite: '%' (to decode) and what escapeCode() escapes,
 * except '/', which in a raw path is the separator. Not global (/g), so it keeps no state between calls.
 */
const NEEDS_REWRITE = /[\u0000%*?#]/;

const NOT_FOUND = Object.freeze({ kind: 'notFound' as const });
const NO_BINDINGS: readonly Binding[] = Object.freeze([]);

/** What a variable needs at lookup time, precomputed from the template. */
interface CompiledVariable {
  readonly fieldPath: readonly string[];
  readonly start: number;
  readonly end: number;
  /** Ends with `**`: captures the rest of the path. */
  readonly deep: boolean;
  /** Exactly one segment and no `**`: decode '%2F' too. */
  readonly single: boolean;
}

interface CompiledRoute<T> {
  readonly entry: RouteEntry<T>;
  readonly variables: readonly CompiledVariable[];
}

/** The routers of one verb, by method. */
type MethodRouters = ReadonlyMap<string, Router>;

/** `decoded` with the characters the segment structure (or, for '%', a second decoding) would misread escaped. */
function escapeForRouter(decoded: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < decoded.length; i++) {
    const code = decoded.charCodeAt(i);
    const escape = escapeCode(code);
    if (escape !== '') {
      out += decoded.slice(from, i) + ESC + escape;
      from = i + 1;
    }
  }
  return from === 0 ? decoded : out + decoded.slice(from);
}

/** The second character of the escape for `code`, or '' when `code` is passed through. */
function escapeCode(code: number): string {
  switch (code) {
    case 0x00:
      return '0';
    case 0x2f: // '/': a decoded slash never splits a segment (http.proto)
      return '1';
    case 0x25: // '%': it would read as an escape again
      return '2';
    // '?', '#', '*': find-my-way, the former router, read these specially. The trie does not; escaping them
    // is harmless (both sides are escaped alike) and keeps the router form as it was.
    case 0x3f:
      return '3';
    case 0x23:
      return '4';
    case 0x2a:
      return '5';
    default:
      return '';
  }
}

/**
 * The router path for `rawPath[0, end)`: the path itself when it holds nothing to decode or escape,
 * else each segment decoded in full and escaped. Fails on a malformed escape.
 */
function routerPath(rawPath: string, end: number): string | PercentError {
  // Tested on the whole path: a '%' in a verb only costs the slow path, which gives the same answer.
  if (!NEEDS_REWRITE.test(rawPath)) return end === rawPath.length ? rawPath : rawPath.slice(0, end);

  let out = '';
  let segmentStart = 1;
  for (;;) {
    let segmentEnd = rawPath.indexOf('/', segmentStart);
    if (segmentEnd === -1 || segmentEnd > end) segmentEnd = end;
    const decoded = decodePercent(rawPath, segmentStart, segmentEnd, false);
    if (typeof decoded !== 'string') return decoded;
    out += '/' + escapeForRouter(decoded);
    if (segmentEnd === end) return out;
    segmentStart = segmentEnd + 1;
  }
}

/** A template literal or verb (valid: the parser checked its escapes) in router form. */
function routerLiteral(written: string): string {
  const decoded = decodePercent(written, 0, written.length, false);
  if (typeof decoded !== 'string') throw new Error(`unreachable: template literal '${written}' has a bad escape`);
  return escapeForRouter(decoded);
}

/**
 * The router parts of a template (verb excluded), a key naming what it matches (templates that match the
 * same requests get the same key: variables are erased, literals decoded), and, when it ends with `**`, the
 * parts and key of the same route with `**` matching zero segments.
 */
function routerPattern(template: Template): { parts: RoutePart[]; key: string; zeroDeep: { parts: RoutePart[]; key: string } | undefined } {
  const parts: RoutePart[] = [];
  let key = '';
  for (const segment of template.segments) {
    switch (segment.kind) {
      case 'literal': {
        const text = routerLiteral(segment.value);
        parts.push({ kind: 'literal', text });
        key += `/=${text}`;
        break;
      }
      case 'wildcard':
        parts.push(PARAM);
        key += '/*';
        break;
      case 'deepWildcard': {
        const zeroDeep = parts.length === 0 ? { parts: [ROOT], key: '/=' } : { parts: [...parts], key };
        parts.push(REST);
        return { parts, key: `${key}/**`, zeroDeep };
      }
    }
  }
  return parts.length === 0 ? { parts: [ROOT], key: '/=', zeroDeep: undefined } : { parts, key, zeroDeep: undefined };
}

const PARAM: RoutePart = Object.freeze({ kind: 'param' });
const REST: RoutePart = Object.freeze({ kind: 'rest' });
/** The path '/': one empty segment. */
const ROOT: RoutePart = Object.freeze({ kind: 'literal', text: '' });

function compileRoute<T>(entry: RouteEntry<T>): CompiledRoute<T> {
  const { segments } = entry.template;
  const variables = entry.template.variables.map((v): CompiledVariable => {
    const deep = segments[v.end - 1]?.kind === 'deepWildcard';
    return Object.freeze({ fieldPath: v.fieldPath, start: v.start, end: v.end, deep, single: !deep && v.end - v.start === 1 });
  });
  return Object.freeze({ entry, variables: Object.freeze(variables) });
}

/** `method path:verb` for messages. */
function describeEntry(entry: RouteEntry<unknown>): string {
  return `${entry.method} ${entry.template.toString()}`;
}

/**
 * The bindings of `route` for `rawPath[0, pathEnd)` (pathEnd excludes a verb), or a PercentError.
 * Segments are counted on the raw path, where only a raw '/' separates them, as in the router path.
 */
function extractBindings(route: CompiledRoute<unknown>, rawPath: string, pathEnd: number): readonly Binding[] | PercentError {
  if (route.variables.length === 0) return NO_BINDINGS;
  const bindings: Binding[] = new Array<Binding>(route.variables.length);
  let segment = 0;
  let offset = 1; // start of `segment` in rawPath
  for (let k = 0; k < route.variables.length; k++) {
    const v = route.variables[k] as CompiledVariable;
    while (segment < v.start) {
      offset = nextSegment(rawPath, offset, pathEnd);
      segment++;
    }
    const valueStart = Math.min(offset, pathEnd);
    let valueEnd = pathEnd;
    if (!v.deep) {
      while (segment < v.end) {
        offset = nextSegment(rawPath, offset, pathEnd);
        segment++;
      }
      valueEnd = offset - 1;
    }
    const value = decodePercent(rawPath, valueStart, valueEnd, !v.single);
    if (typeof value !== 'string') return value;
    bindings[k] = { fieldPath: v.fieldPath, value };
  }
  return bindings;
}

/** The offset just after the '/' that ends the segment starting at `offset`, or pathEnd + 1 at the end. */
function nextSegment(rawPath: string, offset: number, pathEnd: number): number {
  const slash = rawPath.indexOf('/', offset);
  return slash === -1 || slash >= pathEnd ? pathEnd + 1 : slash + 1;
}

class RouteMatcher<T> implements Matcher<T> {
  constructor(
    /** Verb ('' for none) → method → router. */
    private readonly routers: ReadonlyMap<string, MethodRouters>,
    readonly entries: readonly RouteEntry<T>[],
  ) {
    Object.freeze(this);
  }

  lookup(method: string, rawPath: string): LookupResult<T> {
    if (rawPath.charCodeAt(0) !== 0x2f) return NOT_FOUND;

    // The verb is what follows the last ':' of the last segment (the same rule as the template parser).
    // An escaped ':' (%3A) is data, never a verb separator.
    const colon = rawPath.lastIndexOf(':');
    let verbRouters: MethodRouters | undefined;
    if (colon > rawPath.lastIndexOf('/')) {
      const verb = decodePercent(rawPath, colon + 1, rawPath.length, false);
      if (typeof verb !== 'string') return badPath(verb);
      verbRouters = this.routers.get(escapeForRouter(verb));
    }

    if (verbRouters !== undefined) {
      const router = verbRouters.get(method);
      if (router !== undefined) {
        const path = routerPath(rawPath, colon);
        if (typeof path !== 'string') return badPath(path);
        const found = this.match(router, path, rawPath, colon);
        if (found !== undefined) return found;
      }
    }

    const fullPath = routerPath(rawPath, rawPath.length);
    if (typeof fullPath !== 'string') return badPath(fullPath);
    const plain = this.routers.get('');
    const router = plain?.get(method);
    if (router !== undefined) {
      const found = this.match(router, fullPath, rawPath, rawPath.length);
      if (found !== undefined) return found;
    }

    return this.miss(method, rawPath, colon, verbRouters, fullPath);
  }

  private match(router: Router, path: string, rawPath: string, pathEnd: number): LookupResult<T> | undefined {
    const route = router.find(path) as CompiledRoute<T> | undefined;
    if (route === undefined) return undefined;
    const bindings = extractBindings(route, rawPath, pathEnd);
    if ('reason' in bindings) return badPath(bindings);
    return { kind: 'match', value: route.entry.value, bindings };
  }

  /** 405 when other methods match the path (in either verb form), else 404. Only runs on a miss. */
  private miss(
    method: string,
    rawPath: string,
    colon: number,
    verbRouters: MethodRouters | undefined,
    fullPath: string,
  ): LookupResult<T> {
    const allow = new Set<string>();
    if (verbRouters !== undefined) {
      const path = routerPath(rawPath, colon);
      if (typeof path === 'string') collectMethods(verbRouters, path, method, allow);
    }
    const plain = this.routers.get('');
    if (plain !== undefined) collectMethods(plain, fullPath, method, allow);
    if (allow.size === 0) return NOT_FOUND;
    return { kind: 'methodNotAllowed', allow: Object.freeze([...allow].sort()) };
  }
}

function collectMethods(routers: MethodRouters, path: string, except: string, into: Set<string>): void {
  for (const [m, router] of routers) {
    if (m !== except && router.find(path) !== undefined) into.add(m);
  }
}

function badPath(error: PercentError): LookupResult<never> {
  return { kind: 'badPath', reason: `${error.reason} in the path at offset ${error.offset}` };
}

/**
 * Builds an immutable matcher. Conflicts (two entries with the same method that match exactly the same
 * requests, e.g. '/v1/{a}' and '/v1/{b}', or the same template twice) are returned, not thrown; the
 * conflicting later entry is left out. Precedence does not depend on entry order.
 *
 * Two templates conflict when they have the same method, the same decoded verb and the same segments once
 * variables are erased and literals decoded ('/v1/{a=*}' = '/v1/*', '/v1/a' = '/v1/%61'). Templates that
 * overlap without being equal ('/v1/{a}' and '/v1/{p=**}') are not conflicts: precedence decides.
 *
 * A trailing `**` also matches zero segments ('/v1/{p=**}' matches '/v1'); a route of the exact length
 * ('/v1', '/{a}') takes precedence over that reading, whatever the entry order.
 *
 * Never throws.
 */
export function buildMatcher<T>(entries: readonly RouteEntry<T>[]): { matcher: Matcher<T>; conflicts: RouteConflict[] } {
  const routers = new Map<string, Map<string, Router>>();
  /** Router → the keys of its routes and who owns them, for conflict detection and `**` zero-length aliases. */
  const registered = new Map<Router, Map<string, CompiledRoute<T>>>();
  const conflicts: RouteConflict[] = [];
  const accepted: RouteEntry<T>[] = [];
  const zeroDeeps: Array<{ router: Router; parts: RoutePart[]; key: string; route: CompiledRoute<T> }> = [];

  for (const entry of entries) {
    const verb = entry.template.verb === undefined ? '' : routerLiteral(entry.template.verb);
    let byMethod = routers.get(verb);
    if (byMethod === undefined) routers.set(verb, (byMethod = new Map()));
    let router = byMethod.get(entry.method);
    if (router === undefined) {
      byMethod.set(entry.method, (router = new SegmentRouter()));
      registered.set(router, new Map());
    }
    const keys = registered.get(router) as Map<string, CompiledRoute<T>>;

    const { parts, key, zeroDeep } = routerPattern(entry.template);
    const existing = keys.get(key);
    if (existing !== undefined) {
      conflicts.push({
        first: existing.entry.source,
        second: entry.source,
        reason: `'${describeEntry(entry)}' matches exactly the same requests as '${describeEntry(existing.entry)}'`,
      });
      continue;
    }
    const route = compileRoute(entry);
    router.on(parts, route);
    keys.set(key, route);
    accepted.push(entry);
    if (zeroDeep !== undefined) zeroDeeps.push({ router, ...zeroDeep, route });
  }

  // After every real route, so that an exact-length route wins over a `**` matching nothing regardless
  // of the input order.
  for (const { router, parts, key, route } of zeroDeeps) {
    const keys = registered.get(router) as Map<string, CompiledRoute<T>>;
    if (keys.has(key)) continue;
    router.on(parts, route);
    keys.set(key, route);
  }

  return { matcher: new RouteMatcher<T>(routers, Object.freeze(accepted)), conflicts };
}
