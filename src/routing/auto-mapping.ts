/**
 * `--auto-mapping`: an HTTP rule for a method that has none, following Envoy's gRPC-JSON transcoder
 * `auto_mapping` convention: `POST /{package.Service}/{Method}` with the whole request message as the
 * JSON body. Such routes are marked by their source, AUTO_MAPPING_SOURCE, in `--check`'s table and in the
 * OpenAPI document.
 */
import type { HttpRuleSpec } from '../config/mapping.js';

/** The `Route.source` (and rule file) of auto-mapped routes. */
export const AUTO_MAPPING_SOURCE = 'auto-mapping';

/** The rule for `selector` (`pkg.Service.Method`) of service `serviceName` (`pkg.Service`). */
export function autoMappingRule(selector: string, serviceName: string, methodName: string): HttpRuleSpec {
  return {
    selector,
    method: 'POST',
    path: `/${serviceName}/${methodName}`,
    body: '*',
    responseBody: undefined,
    additionalBindings: [],
    loc: { file: AUTO_MAPPING_SOURCE, line: 0 },
  };
}
