import { describe, expect, it } from 'vitest';
import { decodePercent } from './percent.js';

const decode = (text: string, keepSlash: boolean) => decodePercent(text, 0, text.length, keepSlash);

describe('decodePercent', () => {
  it.each<[string, boolean, string]>([
    ['plain', false, 'plain'],
    ['', false, ''],
    ['%61bc', false, 'abc'],
    ['a%20b', false, 'a b'],
    ['a%2Fb', false, 'a/b'],
    ['a%2fb', false, 'a/b'],
    ['a%2Fb', true, 'a%2Fb'],
    ['a%2fb', true, 'a%2fb'],
    ['a%2Fb%20c', true, 'a%2Fb c'],
    ['%25', false, '%'],
    ['%2525', false, '%25'],
    ['%3A%3a', false, '::'],
    ['caf%C3%A9', false, 'café'],
    ['caf%c3%a9', true, 'café'],
    ['%E2%82%AC', false, '€'],
    ['%F0%9F%98%80', false, '😀'],
    ['%EF%BF%BF', false, '\uffff'],
    ['%F4%8F%BF%BF', false, '\u{10ffff}'],
    ['%00', false, '\u0000'],
    ['raw café', false, 'raw café'],
  ])('%j (keepSlash %s) → %j', (text, keepSlash, expected) => {
    expect(decode(text, keepSlash)).toBe(expected);
  });

  it.each<[string, number, string]>([
    ['%', 0, "invalid percent-encoding '%'"],
    ['a%4', 1, "invalid percent-encoding '%4'"],
    ['%zz', 0, "invalid percent-encoding '%zz'"],
    ['%4g', 0, "invalid percent-encoding '%4g'"],
    ['ok%2Fthen%x', 9, "invalid percent-encoding '%x'"],
    ['%80', 0, "percent-encoding '%80' is not valid UTF-8"], // lone continuation byte
    ['%C3', 0, "percent-encoding '%C3' is not valid UTF-8"], // truncated
    ['%C3a', 0, "percent-encoding '%C3' is not valid UTF-8"],
    ['%C3%28', 0, "percent-encoding '%C3%28' is not valid UTF-8"],
    ['%C0%80', 0, "percent-encoding '%C0' is not valid UTF-8"], // overlong NUL
    ['%E0%80%80', 0, "percent-encoding '%E0%80' is not valid UTF-8"], // overlong
    ['%ED%A0%80', 0, "percent-encoding '%ED%A0' is not valid UTF-8"], // surrogate
    ['%F4%90%80%80', 0, "percent-encoding '%F4%90' is not valid UTF-8"], // above U+10FFFF
    ['%F5%80%80%80', 0, "percent-encoding '%F5' is not valid UTF-8"],
    ['%E2%82%zz', 6, "invalid percent-encoding '%zz'"],
  ])('%j → error at %i: %s', (text, offset, reason) => {
    expect(decode(text, false)).toEqual({ offset, reason });
    expect(decode(text, true)).toEqual({ offset, reason });
  });

  it('decodes only the given range', () => {
    expect(decodePercent('/v1/a%20b/c', 4, 9, false)).toBe('a b');
    expect(decodePercent('/v1/a%2', 4, 6, false)).toEqual({ offset: 5, reason: "invalid percent-encoding '%'" });
  });
});
