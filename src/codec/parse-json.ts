/**
 * Request JSON text → a JSON value, keeping 64-bit integers exact.
 *
 * RFC 8259 §6 notes that numbers beyond IEEE 754 double precision lose digits in many parsers, and the
 * proto3 JSON mapping lets clients send int64 values as JSON numbers. JSON.parse is fast, so it is used
 * whenever a cheap scan shows no number literal that a double might not hold exactly: at most 15 digits
 * (every such integer is below 2^53) and no exponent (`123456789012345e4` is an integer no double holds).
 * Otherwise a small precise parser runs, which returns those literals as `JsonNumberText`. Both paths give
 * the same values to the codec's readers, and the same errors: a JSON.parse failure is re-parsed by the
 * precise parser only to report the position the same way.
 *
 * Both paths: duplicate keys — the last one wins (JSON.parse's rule); `__proto__` is an ordinary own
 * property, never the prototype.
 */
import { CodecError } from './errors.js';
import { JsonNumberText } from './json-number.js';

export { JsonNumberText } from './json-number.js';

/**
 * Parses request JSON text with full 64-bit precision.
 * @param maxDepth the deepest allowed nesting of objects and arrays (the root container is depth 1).
 * @throws CodecError('', 'malformed JSON at position N: …') on a syntax error, and
 *   CodecError('', 'JSON nesting exceeds …') when deeper than `maxDepth`.
 */
export function parseJson(text: string, maxDepth: number): unknown {
  if (!needsPreciseParse(text, maxDepth)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Fall through: the precise parser finds the same error and reports its position uniformly.
    }
  }
  return new PreciseParser(text, maxDepth).parseDocument();
}

/**
 * @private Always uses the precise parser; for tests that check both paths agree.
 * @throws CodecError exactly as parseJson does.
 */
export function parseJsonPrecise(text: string, maxDepth: number): unknown {
  return new PreciseParser(text, maxDepth).parseDocument();
}

function depthError(maxDepth: number): CodecError {
  return new CodecError('', `JSON nesting exceeds the maximum depth of ${maxDepth}`);
}

/**
 * One linear pass over the text, skipping string contents: checks the nesting depth and looks for number
 * literals JSON.parse could round. Returns true when the precise parser must run.
 */
function needsPreciseParse(text: string, maxDepth: number): boolean {
  let depth = 0;
  let precise = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Find the closing quote: one not preceded by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return true; // unterminated: let the precise parser report it
        let k = j - 1;
        while (text.charCodeAt(k) === 0x5c /* \ */) k--;
        if ((j - k) % 2 === 1) break;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) throw depthError(maxDepth);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d /* - */) {
      let digits = 0;
      let j = i;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) digits++;
        else if (d === 0x65 || d === 0x45 /* e E */) precise = true;
        else if (d !== 0x2e && d !== 0x2b && d !== 0x2d /* . + - */) break;
      }
      if (digits > 15) precise = true;
      i = j - 1;
    }
  }
  return precise;
}

/** A recursive-descent RFC 8259 parser; recursion is bounded by `maxDepth`. */
class PreciseParser {
  private pos = 0;
  /** Sticky, so it carries lastIndex: one per parser, never shared. */
  private readonly number = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  parseDocument(): unknown {
    this.skipWs();
    const value = this.parseValue(1);
    this.skipWs();
    if (this.pos < this.text.length) this.error('unexpected data after the JSON value');
    return value;
  }

  private error(what: string): never {
    throw new CodecError('', `malformed JSON at position ${this.pos}: ${what}`);
  }

  private skipWs(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  private parseValue(depth: number): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.parseObject(depth);
      case 0x5b: // [
        return this.parseArray(depth);
      case 0x22: // "
        return this.parseString();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        return this.error(Number.isNaN(c) ? 'unexpected end of input' : `unexpected character ${JSON.stringify(this.text[this.pos])}`);
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.error(`unexpected character ${JSON.stringify(this.text[this.pos])}`);
    this.pos += word.length;
    return value;
  }

  private parseNumber(): number | JsonNumberText {
    this.number.lastIndex = this.pos;
    const m = this.number.exec(this.text);
    if (m === null) return this.error('invalid number');
    const literal = m[0];
    this.pos += literal.length;
    let digits = 0;
    for (let i = 0; i < literal.length; i++) {
      const d = literal.charCodeAt(i);
      if (d >= 0x30 && d <= 0x39) digits++;
    }
    // The same rule as the scan in needsPreciseParse, so both paths hand the readers the same values.
    return digits > 15 || m[2] !== undefined ? new JsonNumberText(literal) : Number(literal);
  }

  private parseString(): string {
    const t = this.text;
    let p = this.pos + 1;
    let out = '';
    let start = p;
    for (;;) {
      if (p >= t.length) {
        this.pos = p;
        this.error('unterminated string');
      }
      const c = t.charCodeAt(p);
      if (c === 0x22) break;
      if (c < 0x20) {
        this.pos = p;
        this.error('control character in string');
      }
      if (c !== 0x5c) {
        p++;
        continue;
      }
      out += t.slice(start, p);
      const e = t[p + 1];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = t.slice(p + 2, p + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.pos = p;
            this.error('invalid \\u escape');
          }
          out += String.fromCharCode(parseInt(hex, 16));
          p += 4;
          break;
        }
        default:
          this.pos = p;
          this.error('invalid escape');
      }
      p += 2;
      start = p;
    }
    out += t.slice(start, p);
    this.pos = p + 1;
    return out;
  }

  private parseArray(depth: number): unknown[] {
    if (depth > this.maxDepth) throw depthError(this.maxDepth);
    this.pos++;
    const out: unknown[] = [];
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.parseValue(depth + 1));
      this.skipWs();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
      } else if (c === 0x5d) {
        this.pos++;
        return out;
      } else {
        this.error("expected ',' or ']'");
      }
    }
  }

  private parseObject(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) throw depthError(this.maxDepth);
    this.pos++;
    const out: Record<string, unknown> = {};
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.error('expected a string key');
      const key = this.parseString();
      this.skipWs();
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.error("expected ':'");
      this.pos++;
      this.skipWs();
      const value = this.parseValue(depth + 1);
      if (key === '__proto__') {
        // Like JSON.parse: an own data property, never a prototype change.
        Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        out[key] = value;
      }
      this.skipWs();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
      } else if (c === 0x7d) {
        this.pos++;
        return out;
      } else {
        this.error("expected ',' or '}'");
      }
    }
  }
}
