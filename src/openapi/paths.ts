/**
 * An HttpRule path template → an OpenAPI path and its path parameters.
 *
 * A single-segment variable (`{payment_id}`, `{book.name}`) is one path parameter named by its field path.
 * A variable with a multi-segment pattern (`{name=shelves/*}`) is written out: its literals stay in the
 * path and each wildcard becomes a parameter named after the literal before it, as Google's discovery
 * documents name them (`/v1/shelves/{shelvesId}`). One `{name}` parameter with the pattern `shelves/[^/]+`
 * would be wrong for every OpenAPI client, which percent-encodes a path parameter's '/' (OpenAPI 3.1
 * "Path Templating"), and google/api/http.proto never matches a `%2F` against a template's '/'; it would
 * also make `/v1/{name=shelves/*}` and `/v1/{name=shelves/*\/books/*}` the same OpenAPI path.
 * The variable's full pattern is kept in each parameter's description and in `x-attache-template`.
 *
 * Pure.
 */
import type protobuf from 'protobufjs';
import type { Template } from '../routing/template.js';

/** One path parameter of an operation. */
export interface PathParam {
  readonly name: string;
  /** The field the value goes to (whole, or as one segment of it); undefined for an unnamed wildcard. */
  readonly field: readonly protobuf.Field[] | undefined;
  /** Whether the parameter is a whole single-segment variable (the field's own schema applies). */
  readonly whole: boolean;
  /** '*' (one segment) or '**' (the rest of the path). */
  readonly wildcard: '*' | '**';
  readonly description: string | undefined;
}

/** An identifier fit for a parameter name: the literal's letters and digits, lowerCamel-joined. */
function paramBase(literal: string | undefined, fallback: string): string {
  const words = (literal ?? '').split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  if (words.length === 0) return fallback;
  return words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

/**
 * The OpenAPI path of `template` and its parameters, in path order. `fieldsOf` resolves a variable's
 * dotted field path (the route's `pathFields`).
 */
export function openApiPath(
  template: Template,
  fieldsOf: (dotted: string) => readonly protobuf.Field[] | undefined,
): { path: string; params: PathParam[] } {
  const parts: string[] = [];
  const params: PathParam[] = [];
  const used = new Set<string>();
  const unique = (base: string): string => {
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}${n}`;
    used.add(name);
    return name;
  };
  // Whole-variable names first, so that a generated name never takes a field's own.
  for (const v of template.variables) {
    const inner = template.segments.slice(v.start, v.end);
    if (inner.length === 1 && inner[0]!.kind === 'wildcard') used.add(v.fieldPath.join('.'));
  }
  const segs = template.segments;
  let prevLiteral: string | undefined;
  for (let i = 0; i < segs.length; ) {
    const v = template.variables.find((x) => x.start === i);
    if (v !== undefined) {
      const dotted = v.fieldPath.join('.');
      const inner = segs.slice(v.start, v.end);
      const fields = fieldsOf(dotted);
      if (inner.length === 1 && inner[0]!.kind === 'wildcard') {
        parts.push(`{${dotted}}`);
        params.push({ name: dotted, field: fields, whole: true, wildcard: '*', description: undefined });
      } else {
        const pattern = inner.map((s) => (s.kind === 'literal' ? s.value : s.kind === 'wildcard' ? '*' : '**')).join('/');
        const shown: string[] = [];
        const mine: { index: number; name: string; wildcard: '*' | '**' }[] = [];
        for (const s of inner) {
          if (s.kind === 'literal') {
            parts.push(s.value);
            shown.push(s.value);
            prevLiteral = s.value;
            continue;
          }
          const wildcard = s.kind === 'wildcard' ? '*' : '**';
          const name = unique(paramBase(prevLiteral, v.fieldPath.at(-1)!) + (wildcard === '*' ? 'Id' : 'Path'));
          parts.push(`{${name}}`);
          shown.push(`{${name}}`);
          mine.push({ index: params.length, name, wildcard });
          params.push({ name, field: fields, whole: false, wildcard, description: undefined });
        }
        for (const m of mine) {
          params[m.index] = {
            ...params[m.index]!,
            description: `${m.wildcard === '**' ? 'One or more path segments' : 'One path segment'} of \`${dotted}\`, which is \`${shown.join('/')}\` (template \`{${dotted}=${pattern}}\`).`,
          };
        }
      }
      i = v.end;
      continue;
    }
    const s = segs[i]!;
    if (s.kind === 'literal') {
      parts.push(s.value);
      prevLiteral = s.value;
    } else {
      const wildcard = s.kind === 'wildcard' ? '*' : '**';
      const name = unique(paramBase(prevLiteral, 'segment') + (wildcard === '*' ? 'Id' : 'Path'));
      parts.push(`{${name}}`);
      params.push({ name, field: undefined, whole: false, wildcard, description: `${wildcard === '**' ? 'Any path segments' : 'Any one path segment'}; matched but not sent to the upstream.` });
    }
    i++;
  }
  return { path: `/${parts.join('/')}${template.verb === undefined ? '' : `:${template.verb}`}`, params };
}
