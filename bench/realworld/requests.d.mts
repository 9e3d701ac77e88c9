// Types of requests.mjs for the TypeScript tests that import it.
import type { DescMessage } from '@bufbuild/protobuf';
import type { MethodKind, ProtoSet } from './set.mjs';

export interface RouteRow { readonly method: string; readonly template: string; readonly selector: string; readonly kind: MethodKind }
export interface RouteRequest extends RouteRow {
  /** The binding's `body`: '*', a field name, or '' for none. */
  readonly bodyField: string;
  readonly path: string;
  readonly body: string | undefined;
  readonly contentType: string | undefined;
}
export declare function routesFromCheck(out: string): RouteRow[];
export declare function checkRoutes(dist: string, setDir: string): RouteRow[];
export declare function pathBindings(template: string, input: DescMessage): { field: string; value: string }[];
export declare function pathFor(template: string, input: DescMessage): string;
export declare function requestsFor(set: ProtoSet, routes: readonly RouteRow[]): RouteRequest[];
export declare function everyRouteOnce(url: string, requests: readonly RouteRequest[]): Promise<string[]>;
export declare function writeRoutesFile(requests: readonly RouteRequest[], file: string): void;
export declare function wrkRoutes(url: string, routesFile: string, options: { conc: number; seconds: number; maxRequests: number }): Promise<{ requests: number; duration_s: number; rps: number; p50_ms: number; p99_ms: number; errors: number }>;
