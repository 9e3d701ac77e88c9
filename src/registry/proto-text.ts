/**
 * The text of a .proto file as the serving load parses it (registry/load.ts, comments not kept): a
 * character beyond Latin-1 inside a comment becomes a space, and the text is then one byte per character.
 *
 * Why: V8 stores a string holding any character beyond U+00FF as two bytes per character, and every name,
 * path and option value protobufjs takes from the text is a slice of it, so two bytes per character as
 * well, whatever its own characters. Real API protos have such characters in their comments (an em dash, a
 * curly quote, a µ: 7 of the 211 files of bench/realworld), so the routes, the schema store's JSON and the
 * metric labels of those files' methods were two-byte strings: twice their memory, and `/metrics` two-byte
 * as a whole (11.4 instead of 5.7 MB for the 1,218 routes of bench/realworld), written out through the
 * slow UTF-16 path. Serving never reads comments (the OpenAPI document loads the protos again, with them).
 *
 * The text keeps its length and its line breaks, so protobufjs's line numbers are unchanged. A character
 * beyond Latin-1 outside a comment (in a string literal: a default value, an option) is kept, and so is
 * the text, as it was.
 */

/** The comments of `text` with every character beyond U+00FF replaced by a space (see the module comment). */
export function withoutWideComments(text: string): string {
  // Most files have no such character: nothing to do.
  if (!/[^\u0000-\u00ff]/.test(text)) return text;
  const n = text.length;
  const out = Buffer.allocUnsafe(n);
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x2f) {
      // A line comment: to the end of the line.
      while (i < n && text.charCodeAt(i) !== 0x0a) out[i] = latin1OrSpace(text.charCodeAt(i++));
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a /* * */) {
      // A block comment: to the first `*/`, or to the end of the text (protobufjs reports that one).
      out[i] = 0x2f;
      out[i + 1] = 0x2a;
      i += 2;
      while (i < n && !(text.charCodeAt(i) === 0x2a && text.charCodeAt(i + 1) === 0x2f)) out[i] = latin1OrSpace(text.charCodeAt(i++));
      if (i < n) {
        out[i] = 0x2a;
        out[i + 1] = 0x2f;
        i += 2;
      }
    } else if (c === 0x22 /* " */ || c === 0x27 /* ' */) {
      // A string literal, escapes included: to its closing quote or the end of the line.
      out[i++] = c;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d > 0xff) return text;
        out[i++] = d;
        if (d === c || d === 0x0a) break;
        if (d === 0x5c /* \ */ && i < n) {
          const e = text.charCodeAt(i);
          if (e > 0xff) return text;
          out[i++] = e;
        }
      }
    } else if (c > 0xff) {
      return text;
    } else {
      out[i++] = c;
    }
  }
  return out.toString('latin1');
}

const latin1OrSpace = (c: number): number => (c > 0xff ? 0x20 : c);
