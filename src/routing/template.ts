/**
 * HttpRule path templates: the grammar of google/api/http.proto ("Path template syntax"):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * Choices where http.proto leaves room (each matches grpc-gateway or Envoy's transcoder):
 * - LITERAL is RFC 3986 `pchar` (unreserved, sub-delims, ':', '@' and %XX escapes) minus '*', which is a
 *   token of its own. A ':' may appear inside a literal, but the last ':' of the last segment always starts
 *   the verb, exactly as a request path is split (see matcher.ts), so a verb never contains ':'.
 * - `**` must be the last segment (before the verb), as http.proto says; Envoy's extension of literals after
 *   `**` is not accepted.
 * - IDENT is a proto identifier, `[A-Za-z_][A-Za-z0-9_]*`; whether it names a field is checked by the
 *   caller against the request message.
 * - The root template "/" (no segments) is accepted, as grpc-gateway and Envoy do, though the grammar needs
 *   one segment.
 */
import { decodePercent } from './percent.js';

/** One segment of a template; a variable's segments appear inline (see Variable). */
export type Segment =
  | { readonly kind: 'literal'; readonly value: string } // as written, possibly with %XX escapes
  | { readonly kind: 'wildcard' } // '*'
  | { readonly kind: 'deepWildcard' }; // '**'

/** A `{field.path=pattern}` binding: it captures `segments[start, end)` of the template. */
export interface Variable {
  readonly fieldPath: readonly string[]; // ['payment', 'id'] for {payment.id}
  readonly start: number; // index into segments (inclusive)
  readonly end: number; // index into segments (exclusive)
}

/** A parsed, immutable path template. */
export interface Template {
  /** The template as written. */
  readonly text: string;
  readonly segments: readonly Segment[];
  /** In template order; they never overlap and never nest. */
  readonly variables: readonly Variable[];
  /** The custom verb after the last ':', as written, or undefined. */
  readonly verb: string | undefined;
  /** Canonical form, e.g. '/v1/{name=shelves/*}:cancel' (`{x=*}` prints as `{x}`). */
  toString(): string;
}

/** A path template that does not parse. Thrown at load time only. */
export class TemplateError extends Error {
  readonly code = 'ATTACHE_E_TEMPLATE';
  constructor(
    readonly template: string,
    /** 1-based; one past the end when the template ends too early. */
    readonly column: number,
    readonly reason: string,
  ) {
    super(`invalid path template "${template}" at column ${column}: ${reason}`);
    this.name = 'TemplateError';
  }
}

const WILDCARD: Segment = Object.freeze({ kind: 'wildcard' });
const DEEP_WILDCARD: Segment = Object.freeze({ kind: 'deepWildcard' });

class ParsedTemplate implements Template {
  constructor(
    readonly text: string,
    readonly segments: readonly Segment[],
    readonly variables: readonly Variable[],
    readonly verb: string | undefined,
  ) {
    Object.freeze(this);
  }

  toString(): string {
    const parts: string[] = [];
    let v = 0;
    for (let i = 0; i < this.segments.length; ) {
      const variable = this.variables[v];
      if (variable !== undefined && variable.start === i) {
        const inner = this.segments.slice(variable.start, variable.end);
        const name = variable.fieldPath.join('.');
        parts.push(inner.length === 1 && inner[0]?.kind === 'wildcard' ? `{${name}}` : `{${name}=${inner.map(segmentText).join('/')}}`);
        i = variable.end;
        v++;
      } else {
        parts.push(segmentText(this.segments[i] as Segment));
        i++;
      }
    }
    return `/${parts.join('/')}${this.verb === undefined ? '' : `:${this.verb}`}`;
  }
}

function segmentText(segment: Segment): string {
  switch (segment.kind) {
    case 'literal':
      return segment.value;
    case 'wildcard':
      return '*';
    case 'deepWildcard':
      return '**';
  }
}

/**
 * Whether `code` may appear in a LITERAL: RFC 3986 `pchar` = unreserved / pct-encoded / sub-delims / ":" /
 * "@", minus "*" (a segment of its own in the grammar). '%' is admitted here and its escape checked apart.
 */
function isLiteralChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e || // - . _ ~
    code === 0x21 || code === 0x24 || code === 0x26 || code === 0x27 || // ! $ & '
    code === 0x28 || code === 0x29 || code === 0x2b || code === 0x2c || // ( ) + ,
    code === 0x3b || code === 0x3d || code === 0x3a || code === 0x40 || // ; = : @
    code === 0x25 // %
  );
}

function isIdentStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
}

function isIdentChar(code: number): boolean {
  return isIdentStart(code) || (code >= 0x30 && code <= 0x39);
}

/** 'x' for printable ASCII, U+XXXX otherwise, so that spaces and control characters are visible. */
function describeChar(text: string, i: number): string {
  const code = text.codePointAt(i) ?? 0;
  return code > 0x20 && code < 0x7f ? `'${String.fromCharCode(code)}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A recursive-descent parser over one template; `pos` is a 0-based index into `text`. */
class Parser {
  private pos = 0;
  private readonly segments: Segment[] = [];
  /** Column of each entry of `segments`, for errors found after the segment was read. */
  private readonly columns: number[] = [];
  private readonly variables: Variable[] = [];
  private readonly boundPaths = new Set<string>();
  private verb: string | undefined = undefined;
  /** Where the variable being parsed opened its '{', for "unclosed" errors; -1 outside a variable. */
  private variableOpen = -1;

  constructor(private readonly text: string) {}

  parse(): Template {
    const { text } = this;
    if (text.charCodeAt(0) !== 0x2f) this.fail(0, "a template must start with '/'");
    if (text === '/') return new ParsedTemplate(text, [], [], undefined);
    this.pos = 1;
    this.parseSegments(false);
    if (this.pos < text.length) {
      if (text[this.pos] === ':') this.parseVerb();
      else this.failUnexpected();
    }
    const deep = this.segments.findIndex((s) => s.kind === 'deepWildcard');
    if (deep !== -1 && deep !== this.segments.length - 1) {
      this.failAtColumn(this.columns[deep] as number, "'**' must be the last segment");
    }
    // Copied to their length: a parsed template lives as long as its route, and a pushed array keeps spare capacity.
    return new ParsedTemplate(text, Object.freeze(this.segments.slice()), Object.freeze(this.variables.slice()), this.verb);
  }

  /** Segments = Segment { "/" Segment } ; stops before anything else (':', '}', the end, …). */
  private parseSegments(inVariable: boolean): void {
    for (;;) {
      this.parseSegment(inVariable);
      if (this.text[this.pos] !== '/') return;
      this.pos++;
    }
  }

  /** Segment = "*" | "**" | LITERAL | Variable ; */
  private parseSegment(inVariable: boolean): void {
    const { text } = this;
    const start = this.pos;
    const c = text[start];
    if (c === undefined) {
      // Inside a variable the text ended before its '}' (`/v1/{x=` or `/v1/{x=a/`): that is what to say.
      if (inVariable) this.fail(start, `unclosed '{' (opened at column ${this.variableOpen + 1})`);
      // Otherwise only reachable just after a '/', since the root template was handled apart.
      this.fail(start - 1, "trailing '/' is not allowed");
    }
    if (c === '}' && !inVariable) this.fail(start, "unexpected '}'");
    if (c === '/' || c === '}') this.fail(start, 'empty segment');
    if (c === '*') {
      const deep = text[start + 1] === '*';
      this.pos = start + (deep ? 2 : 1);
      this.push(deep ? DEEP_WILDCARD : WILDCARD, start);
      this.expectSegmentEnd(inVariable, "'*' must be a whole segment");
      return;
    }
    if (c === '{') {
      if (inVariable) this.fail(start, 'variables cannot nest');
      this.parseVariable();
      this.expectSegmentEnd(false, "expected '/' or ':' after '}'");
      return;
    }
    this.parseLiteralSegment(inVariable);
  }

  /** LITERAL: a run of pchars; at the top level the last segment's last ':' starts the verb. */
  private parseLiteralSegment(inVariable: boolean): void {
    const { text } = this;
    const start = this.pos;
    let end = start;
    while (end < text.length && isLiteralChar(text.charCodeAt(end))) end++;
    const stop = text[end];
    if (stop === '*') this.fail(end, "'*' must be a whole segment");
    if (stop === '{') this.fail(end, 'a variable must be a whole segment');
    if (stop !== undefined && stop !== '/' && stop !== '}') this.fail(end, `invalid character ${describeChar(text, end)}`);

    let literalEnd = end;
    if (!inVariable && stop === undefined) {
      const colon = text.lastIndexOf(':', end - 1);
      if (colon >= start) literalEnd = colon;
    }
    if (literalEnd === start) this.fail(start, 'empty segment');
    this.checkEscapes(start, literalEnd);
    this.push(Object.freeze({ kind: 'literal', value: text.slice(start, literalEnd) }), start);
    this.pos = literalEnd;
  }

  /** Variable = "{" FieldPath [ "=" Segments ] "}" ; `pos` is at the '{'. */
  private parseVariable(): void {
    const { text } = this;
    const open = this.pos;
    this.variableOpen = open;
    this.pos++;
    const pathStart = this.pos;
    const fieldPath: string[] = [];
    for (;;) {
      const identStart = this.pos;
      if (!isIdentStart(text.charCodeAt(identStart))) this.fail(identStart, 'expected a field name');
      let i = identStart + 1;
      while (isIdentChar(text.charCodeAt(i))) i++;
      fieldPath.push(text.slice(identStart, i));
      this.pos = i;
      if (text[i] !== '.') break;
      this.pos++;
    }

    const dotted = fieldPath.join('.');
    if (this.boundPaths.has(dotted)) this.fail(pathStart, `field path '${dotted}' is bound more than once`);
    this.boundPaths.add(dotted);

    const start = this.segments.length;
    const next = text[this.pos];
    if (next === '=') {
      this.pos++;
      this.parseSegments(true);
    } else if (next === '}') {
      this.push(WILDCARD, this.pos); // {x} is {x=*}
    } else if (next === undefined) {
      this.fail(this.pos, `unclosed '{' (opened at column ${open + 1})`);
    } else {
      this.fail(this.pos, "expected '.', '=' or '}' after the field name");
    }
    if (text[this.pos] !== '}') this.fail(this.pos, `unclosed '{' (opened at column ${open + 1})`);
    this.pos++;
    this.variables.push(Object.freeze({ fieldPath: Object.freeze(fieldPath.slice()), start, end: this.segments.length }));
  }

  /** Verb = ":" LITERAL ; `pos` is at the ':' (after a wildcard, a variable, or a literal's last ':'). */
  private parseVerb(): void {
    const { text } = this;
    const start = this.pos + 1;
    let end = start;
    while (end < text.length && isLiteralChar(text.charCodeAt(end))) end++;
    if (text[end] === '/') this.fail(end, 'the verb must be the last part of the template');
    if (end < text.length) this.fail(end, `invalid character ${describeChar(text, end)}`);
    if (start === end) this.fail(start, "expected a verb after ':'");
    // A request's verb starts at its last ':' (matcher.ts), so a verb holding ':' could never match.
    const colon = text.indexOf(':', start);
    if (colon !== -1) this.fail(colon, "a verb may not contain ':'");
    this.checkEscapes(start, end);
    this.verb = text.slice(start, end);
    this.pos = end;
  }

  /** After '*', '**' or '}' only a separator may follow: '/', and ':' or the end (top level) or '}' (inside). */
  private expectSegmentEnd(inVariable: boolean, reason: string): void {
    const c = this.text[this.pos];
    if (c === undefined || c === '/') return;
    if (inVariable ? c === '}' : c === ':') return;
    if (inVariable && c === ':') this.fail(this.pos, 'a verb cannot appear inside a variable');
    if (c === '}' && !inVariable) this.fail(this.pos, "unexpected '}'");
    if (!isLiteralChar(this.text.charCodeAt(this.pos)) && c !== '*' && c !== '{') {
      this.fail(this.pos, `invalid character ${describeChar(this.text, this.pos)}`);
    }
    this.fail(this.pos, reason);
  }

  /** Only a literal stopped by a '}' gets here; the other segments check what follows them. */
  private failUnexpected(): never {
    if (this.text[this.pos] === '}') this.fail(this.pos, "unexpected '}'");
    return this.fail(this.pos, `invalid character ${describeChar(this.text, this.pos)}`);
  }

  /** Literals and verbs may be written percent-encoded; the escapes must be well-formed UTF-8. */
  private checkEscapes(start: number, end: number): void {
    const decoded = decodePercent(this.text, start, end, false);
    if (typeof decoded !== 'string') this.fail(decoded.offset, decoded.reason);
  }

  private push(segment: Segment, at: number): void {
    this.segments.push(segment);
    this.columns.push(at + 1);
  }

  private fail(index: number, reason: string): never {
    return this.failAtColumn(index + 1, reason);
  }

  private failAtColumn(column: number, reason: string): never {
    throw new TemplateError(this.text, column, reason);
  }
}

/**
 * Parses an HttpRule path template (google/api/http.proto, "Path template syntax").
 *
 * Returns a frozen Template whose literals and verb are kept as written; use `decodePercent` for their
 * decoded form. Throws TemplateError naming the 1-based column and the reason for: a missing leading '/',
 * empty segments ('//', a trailing '/'), characters outside RFC 3986 pchar, malformed or non-UTF-8
 * escapes, '*' inside a literal, nested variables, an empty or malformed field path, a field path bound
 * twice, '**' anywhere but last, an empty verb or one containing ':', and an unclosed '{'.
 */
export function parseTemplate(text: string): Template {
  return new Parser(text).parse();
}
