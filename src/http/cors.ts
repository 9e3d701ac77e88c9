/**
 * CORS for the data plane, with @fastify/cors doing the protocol (Fetch standard, "CORS protocol") and this
 * module deciding, per request, from the current snapshot:
 * - which origins are allowed: the configured ones (`*`, exact, or `https://*.example.com` for every
 *   subdomain), plus the API reference page's own origin (the admin listener at the same host name), so
 *   that its "try it" works without configuration. Any other origin gets no CORS header at all;
 * - which methods a preflight allows: exactly those the route table maps for that path (the 405 `Allow`
 *   list). A preflight for a path no route matches is not answered, so it fails in the browser as the real
 *   request would have (404);
 * - which response headers scripts may read: `*` (every header, the `Grpc-Metadata-*` and `Grpc-Trailer-*`
 *   ones included) for calls without credentials. With credentials, Fetch reads `*` as a header literally
 *   named "*" and prefixes are not allowed, so each response names the ones it carries: X-Request-Id,
 *   Retry-After and its own Grpc-Metadata-* and Grpc-Trailer-* headers;
 * - whether credentials are allowed (`--cors-credentials`; never with `*`, config/load.ts refuses it) and
 *   how long a preflight may be cached (`--cors-max-age`).
 * Request headers a preflight asks for are allowed as asked: attache forwards only the ones it knows and
 * drops the rest, so refusing others would only break clients that send them anyway.
 */
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/load.js';
import type { Snapshot } from '../snapshot.js';
import { originForm } from './pipeline.js';

export interface CorsContext {
  snapshot(): Snapshot;
  /** Whether `origin` is attache's own API reference page as reached through `host` (the Host header). */
  docsOrigin(origin: string, host: string | undefined): boolean;
}

/** The configured origins, compiled once per Config object. */
interface OriginPolicy {
  readonly any: boolean;
  readonly exact: ReadonlySet<string>;
  /** `https://*.example.com` as [`https://`, `.example.com`, `:port` or ''], matched on the parsed origin. */
  readonly suffixes: readonly (readonly [scheme: string, domain: string, port: string])[];
  /** `http://localhost:*` as `http://localhost:`: that scheme and host with any port. */
  readonly anyPort: readonly string[];
}

const policies = new WeakMap<Config['cors'], OriginPolicy>();

function policyOf(cors: Config['cors']): OriginPolicy {
  let p = policies.get(cors);
  if (p === undefined) {
    const suffixes: [string, string, string][] = [];
    const exact = new Set<string>();
    const anyPort: string[] = [];
    for (const o of cors.origins) {
      const m = /^([a-z][a-z0-9+.-]*:\/\/)\*(\.[^:]+)(:\d+)?$/.exec(o);
      if (o.endsWith(':*')) anyPort.push(o.slice(0, -1));
      else if (m !== null) suffixes.push([m[1]!, m[2]!, m[3] ?? '']);
      else if (o !== '*') exact.add(o);
    }
    p = { any: cors.origins.includes('*'), exact, suffixes, anyPort };
    policies.set(cors, p);
  }
  return p;
}

/** Whether a configured origin list admits `origin` (as the browser sent it). Exported for tests. */
export function originAllowed(cors: Config['cors'], origin: string): boolean {
  const p = policyOf(cors);
  if (p.any || p.exact.has(origin)) return true;
  for (const prefix of p.anyPort) {
    if (origin.startsWith(prefix) && /^\d{1,5}$/.test(origin.slice(prefix.length))) return true;
  }
  for (const [scheme, domain, port] of p.suffixes) {
    if (!origin.startsWith(scheme)) continue;
    const hostPort = origin.slice(scheme.length).toLowerCase();
    const host = port === '' ? hostPort : hostPort.endsWith(port) ? hostPort.slice(0, -port.length) : undefined;
    // A subdomain: at least one label before the domain; the domain itself is not a match.
    if (host !== undefined && !host.includes(':') && host.length > domain.length && host.endsWith(domain)) return true;
  }
  return false;
}

/** Response headers a script may read on a credentialed call, besides this response's metadata headers. */
const EXPOSED_ALWAYS = ['x-request-id', 'retry-after'];

const OFF: FastifyCorsOptions = Object.freeze({ origin: false });

/** The request path without the query, as the route table sees it. */
function pathOf(url: string): string {
  const target = originForm(url);
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

/**
 * Registers CORS on the data plane's encapsulation context (call it inside the transcoder plugin, before
 * its routes). @fastify/cors adds an `OPTIONS *` route for preflights, so the transcoder must not claim
 * OPTIONS in its own catch-all route; its not-found handler hands other OPTIONS requests to the pipeline.
 */
export async function registerCors(app: FastifyInstance, ctx: CorsContext): Promise<void> {
  await app.register(fastifyCors, {
    // @fastify/cors normally answers a preflight missing Access-Control-Request-Method with a 400 of its
    // own; such a request is not a preflight (the delegator disables CORS for it) and goes to the pipeline.
    strictPreflight: true,
    delegator: (req: FastifyRequest, done: (err: Error | null, options: FastifyCorsOptions) => void) => {
      done(null, optionsFor(req, ctx));
    },
  } as FastifyCorsOptions);

  // Fastify writes headers set with reply.header() only when it sends the reply; a response streamed on
  // reply.raw must carry the CORS headers too, so they are set on the raw response as well.
  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const allowOrigin = reply.getHeader('access-control-allow-origin');
    if (allowOrigin !== undefined && req.raw.method !== 'OPTIONS') {
      for (const name of ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers', 'vary']) {
        const v = reply.getHeader(name);
        if (v !== undefined) reply.raw.setHeader(name, v as string);
      }
    }
    done();
  });

  app.addHook('onSend', (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
    if (reply.getHeader('access-control-allow-credentials') === 'true' && req.raw.method !== 'OPTIONS') {
      const names = [...EXPOSED_ALWAYS];
      for (const h of Object.keys(reply.getHeaders())) if (h.startsWith('grpc-metadata-') || h.startsWith('grpc-trailer-')) names.push(h);
      reply.header('access-control-expose-headers', names.join(', '));
    }
    done(null, payload);
  });
}

function optionsFor(req: FastifyRequest, ctx: CorsContext): FastifyCorsOptions {
  const origin = req.headers.origin;
  if (origin === undefined) return OFF;
  const cors = ctx.snapshot().config.cors;
  const configured = originAllowed(cors, origin);
  const docs = !configured && ctx.docsOrigin(origin, req.headers.host);
  if (!configured && !docs) return OFF;
  // The docs page sends no credentials; configured origins get what the configuration says.
  const credentials = configured && cors.credentials;
  const allowOrigin = configured && policyOf(cors).any ? '*' : origin;
  const maxAge = Math.floor(cors.maxAgeMs / 1000);
  const preflight = req.raw.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  if (!preflight) {
    // preflight: false — an OPTIONS request that is not a preflight is the routes' to answer.
    return { origin: allowOrigin, credentials, exposedHeaders: credentials ? null : '*', preflight: false } as FastifyCorsOptions;
  }
  // A method no route has (the NUL character is never an HTTP method) makes the matcher list every method
  // mapped for the path, which is what the preflight may allow.
  const found = ctx.snapshot().table.matcher.lookup('\0', pathOf(req.raw.url ?? '/'));
  if (found.kind !== 'methodNotAllowed') return OFF;
  // allowedHeaders left unset: @fastify/cors then allows the headers the preflight asked for.
  return { origin: allowOrigin, credentials, methods: [...found.allow], maxAge };
}
