/**
 * Routes that name their message types and fields, and resolve them through a TypeSource on first use.
 *
 * Why: a route is validated against the fully loaded protos at build time, but what serving keeps is the
 * compact schema store (registry/schema-store.ts), which materializes protobufjs types only when a request
 * needs them. So a route holds names (`RouteTypeNames`), and its `requestType`, `responseType`, `body`,
 * `responseBody` and `pathFields` are getters that resolve once and cache. The same names rebind a route to
 * another source (the OpenAPI document binds routes to a Root loaded with comments).
 */
import type protobuf from 'protobufjs';
import { SmallMap } from '../collections/small-map.js';
import type { TypeSource } from '../registry/schema-store.js';
import type { BodyMapping, Route } from './routes.js';

/** What a route's protobufjs objects are found by. */
export interface RouteTypeNames {
  /** Full names, without protobufjs's leading dot. */
  readonly requestType: string;
  readonly responseType: string;
  /** The top-level request field the body maps to (`body: "field"`), by proto name. */
  readonly bodyField: string | undefined;
  /** `response_body`, by proto name. */
  readonly responseBody: string | undefined;
  /** Template variable (dotted as written) → the proto names of the fields it walks through. */
  readonly pathFields: ReadonlyMap<string, readonly string[]>;
}

/** A route without its protobufjs objects: everything {@link bindRoute} does not resolve. */
export type RouteCore<P> = Omit<Route<P>, 'requestType' | 'responseType' | 'body' | 'responseBody' | 'pathFields' | 'names'> & {
  readonly bodyKind: BodyMapping['kind'];
};

const NO_BODY: BodyMapping = Object.freeze({ kind: 'none' });
const WHOLE_BODY: BodyMapping = Object.freeze({ kind: 'all' });

/** What a bound route has resolved so far (the route object itself is frozen). */
interface Resolved {
  requestType?: protobuf.Type;
  responseType?: protobuf.Type;
  body?: BodyMapping;
  responseBody?: protobuf.Field | null;
  pathFields?: ReadonlyMap<string, readonly protobuf.Field[]>;
}

function typeNamed(types: TypeSource, name: string): protobuf.Type {
  const t = types.messageType(name);
  // The names were taken from the Root the store was built from, so this is a bug, not bad input.
  if (t === undefined) throw new Error(`route type ${name} is not in the schema`);
  return t;
}

function fieldNamed(type: protobuf.Type, name: string): protobuf.Field {
  const f = type.fields[name];
  if (f === undefined) throw new Error(`route field ${name} is not in ${type.fullName.slice(1)}`);
  return f;
}

/**
 * A route's prototype: the lazily resolved members read the names and the source from the instance, so
 * routes share these functions (a closure per route and member would cost more than the route itself).
 */
class BoundRoute {
  declare readonly names: RouteTypeNames;
  declare readonly bodyKind: BodyMapping['kind'];
  declare private readonly types: TypeSource;
  declare private readonly resolved: Resolved;

  get requestType(): protobuf.Type {
    return (this.resolved.requestType ??= typeNamed(this.types, this.names.requestType));
  }

  get responseType(): protobuf.Type {
    return (this.resolved.responseType ??= typeNamed(this.types, this.names.responseType));
  }

  get body(): BodyMapping {
    if (this.bodyKind === 'none') return NO_BODY;
    if (this.bodyKind === 'all') return WHOLE_BODY;
    const name = this.names.bodyField!;
    return (this.resolved.body ??= Object.freeze({ kind: 'field', field: fieldNamed(this.requestType, name), path: name }));
  }

  get responseBody(): protobuf.Field | undefined {
    const name = this.names.responseBody;
    if (name === undefined) return undefined;
    return (this.resolved.responseBody ??= fieldNamed(this.responseType, name)) ?? undefined;
  }

  get pathFields(): ReadonlyMap<string, readonly protobuf.Field[]> {
    let out = this.resolved.pathFields;
    if (out === undefined) {
      const entries: [string, readonly protobuf.Field[]][] = [];
      for (const [dotted, names] of this.names.pathFields) {
        let type: protobuf.Type = this.requestType;
        const fields = names.map((n) => {
          const f = fieldNamed(type, n);
          if (f.resolvedType !== null && 'fieldsArray' in f.resolvedType) type = f.resolvedType as protobuf.Type;
          return f;
        });
        entries.push([dotted, fields]);
      }
      out = this.resolved.pathFields = new SmallMap(entries);
    }
    return out;
  }
}

/** The route `core` with its types and fields resolved through `types` on first use. */
export function bindRoute<P>(core: RouteCore<P>, names: RouteTypeNames, types: TypeSource): Route<P> {
  const route = Object.create(BoundRoute.prototype) as Record<string, unknown>;
  Object.assign(route, core);
  route['names'] = names;
  route['types'] = types;
  route['resolved'] = {};
  return Object.freeze(route) as unknown as Route<P>;
}

/** `route` resolving its types and fields through `types` instead (same names, same everything else). */
export function rebindRoute<P>(route: Route<P>, types: TypeSource): Route<P> {
  return bindRoute(plainFields(route) as unknown as RouteCore<P>, route.names, types);
}

/** The route's own enumerable data fields (the bound getters live on the prototype, so they are not copied). */
function plainFields<P>(route: Route<P>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(route)) if (k !== 'names' && k !== 'types' && k !== 'resolved') out[k] = (route as unknown as Record<string, unknown>)[k];
  return out;
}
