/**
 * The schema compilers of attache's Fastify instances (the data listener's and the admin listener's): none.
 * attache validates and serializes requests itself, from the protos (src/http/pipeline.ts), and neither
 * instance registers a route with a JSON schema. Left to its defaults, Fastify loads its two compilers when
 * an instance is created, whether or not a schema ever comes: @fastify/ajv-compiler with Ajv, and
 * @fastify/fast-json-stringify-compiler with fast-json-stringify, ~30 ms of every start's CPU
 * (bench/RESULTS.md §22). These stand in for them and refuse, naming the route, should a schema ever be
 * added: that shows at start-up (Fastify compiles route schemas when the instance becomes ready), and the
 * route then needs a real compiler here.
 */
import type { FastifyServerOptions } from 'fastify';

/** The error a route schema meets on these instances. */
export class RouteSchemaError extends Error {
  readonly code = 'ATTACHE_E_ROUTE_SCHEMA';
  constructor(what: string, method: string, url: string) {
    super(`${method} ${url} has a ${what} schema, but attache's Fastify instances compile none (src/http/schema-compilers.ts)`);
    this.name = 'RouteSchemaError';
  }
}

/** Fastify calls a compiler with the route's schema definition: `{ schema, method, url, httpPart, … }`. */
type Compile = (routeSchema: unknown) => never;
const refuse = (what: string): (() => Compile) => () => (routeSchema) => {
  const { method, url } = (routeSchema ?? {}) as { method?: unknown; url?: unknown };
  throw new RouteSchemaError(what, String(method ?? '?'), String(url ?? '?'));
};

/** Fastify's `schemaController` option for attache's instances. */
export const NO_SCHEMA_COMPILERS: NonNullable<FastifyServerOptions['schemaController']> = Object.freeze({
  compilersFactory: Object.freeze({ buildValidator: refuse('validation'), buildSerializer: refuse('response') }),
});
