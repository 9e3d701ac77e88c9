/**
 * Percent-decoding for HttpRule path templates and request paths.
 *
 * google/api/http.proto fixes how a server reverses the client's path expansion: a variable of exactly one
 * segment is decoded in full, a multi-segment variable is decoded "except "%2F" and "%2f" are left
 * unchanged". Both the template parser (literals and verbs may be written percent-encoded) and the matcher
 * (request paths) use this one decoder, so that a template literal and a request segment are compared in
 * the same decoded form.
 *
 * Decoded bytes must form valid UTF-8 (RFC 3986 §2.5 and the proto3 requirement that strings are UTF-8):
 * overlong forms, surrogates and code points above U+10FFFF are rejected rather than replaced, because a
 * silently substituted U+FFFD would reach the backend as a different identifier than the client sent.
 */

/** Why a percent-encoded string could not be decoded. `offset` indexes the offending `%` in the input. */
export interface PercentError {
  readonly offset: number;
  readonly reason: string;
}

/** The value of one hex digit char code, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/** The byte encoded by `%XX` at `i` (which must hold a `%`), or -1 when it is not a complete escape. */
function escapedByte(text: string, i: number, end: number): number {
  if (i + 2 >= end) return -1;
  const hi = hexValue(text.charCodeAt(i + 1));
  const lo = hexValue(text.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

function invalidEscape(text: string, i: number, end: number): PercentError {
  return { offset: i, reason: `invalid percent-encoding '${text.slice(i, Math.min(i + 3, end))}'` };
}

function notUtf8(text: string, i: number, upTo: number): PercentError {
  return { offset: i, reason: `percent-encoding '${text.slice(i, upTo)}' is not valid UTF-8` };
}

/**
 * Decodes `text[start, end)`.
 *
 * With `keepSlash`, `%2F` and `%2f` are copied through unchanged (the multi-segment variable rule of
 * http.proto); every other escape is decoded. Characters that are not part of an escape are copied as they
 * are. Returns the decoded string, or a PercentError for a `%` not followed by two hex digits or for escaped
 * bytes that are not well-formed UTF-8. Never throws.
 */
export function decodePercent(text: string, start: number, end: number, keepSlash: boolean): string | PercentError {
  let i = text.indexOf('%', start);
  if (i === -1 || i >= end) return text.slice(start, end);

  let out = text.slice(start, i);
  let copyFrom = i;
  while (i < end) {
    if (text.charCodeAt(i) !== 0x25 /* % */) {
      i++;
      continue;
    }
    out += text.slice(copyFrom, i);
    const b0 = escapedByte(text, i, end);
    if (b0 < 0) return invalidEscape(text, i, end);

    if (b0 < 0x80) {
      out += keepSlash && b0 === 0x2f ? text.slice(i, i + 3) : String.fromCharCode(b0);
      i += 3;
      copyFrom = i;
      continue;
    }

    // A multi-byte UTF-8 sequence: the lead byte gives the length and the payload bits; the first
    // continuation byte's range excludes overlong forms, surrogates and values above U+10FFFF
    // (RFC 3629 §4, the UTF8-2/3/4 productions).
    let continuation: number;
    let codePoint: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      continuation = 1;
      codePoint = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      continuation = 2;
      codePoint = b0 & 0x0f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      continuation = 3;
      codePoint = b0 & 0x07;
    } else {
      return notUtf8(text, i, i + 3);
    }
    let low = b0 === 0xe0 ? 0xa0 : b0 === 0xf0 ? 0x90 : 0x80;
    let high = b0 === 0xed ? 0x9f : b0 === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= continuation; k++) {
      const j = i + 3 * k;
      if (j >= end || text.charCodeAt(j) !== 0x25) return notUtf8(text, i, j);
      const b = escapedByte(text, j, end);
      if (b < 0) return invalidEscape(text, j, end);
      if (b < low || b > high) return notUtf8(text, i, j + 3);
      codePoint = (codePoint << 6) | (b & 0x3f);
      low = 0x80;
      high = 0xbf;
    }
    out += String.fromCodePoint(codePoint);
    i += 3 * (continuation + 1);
    copyFrom = i;
  }
  return out + text.slice(copyFrom, end);
}
