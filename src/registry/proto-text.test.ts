import { describe, expect, it } from 'vitest';
import { isTwoByte } from '../../test/support/strings.js';
import { withoutWideComments } from './proto-text.js';

describe('withoutWideComments', () => {
  it('blanks characters beyond Latin-1 in line and block comments, keeping length and line breaks', () => {
    const text = 'syntax = "proto3";\n// the parent’s — µ\nmessage M { /* a “b” 😀\n c */ string s = 1; // é stays\n}\n';
    const out = withoutWideComments(text);
    // ’ and — and each half of 😀 become spaces; µ and é are Latin-1 and stay.
    expect(out).toBe('syntax = "proto3";\n// the parent s   µ\nmessage M { /* a  b    \n c */ string s = 1; // é stays\n}\n');
    expect(out).toHaveLength(text.length);
    expect(out.split('\n').length).toBe(text.split('\n').length);
    expect(isTwoByte(text)).toBe(true);
    expect(isTwoByte(out)).toBe(false);
  });

  it('leaves a text without such characters as it is (the same string)', () => {
    const text = 'syntax = "proto3"; // café\nmessage M {}\n';
    expect(withoutWideComments(text)).toBe(text);
  });

  it('keeps the text whole when such a character is outside a comment (a string literal)', () => {
    const text = 'syntax = "proto3"; // “x”\nmessage M { string s = 1 [default = "naïve — ok"]; }\n';
    expect(withoutWideComments(text)).toBe(text);
    const single = "// ’\noption (x) = 'a—b';\n";
    expect(withoutWideComments(single)).toBe(single);
  });

  it('reads comment markers inside strings as string, and quotes inside comments as comment', () => {
    const text = 'option (a) = "// not — a comment";\n// it’s "quoted\nmessage M { string s = 1 [default = "a\\"/*b*/"]; } /* — */ //\n';
    const out = withoutWideComments(text);
    // The dash in the string literal is kept, so the text is too.
    expect(out).toBe(text);
    const t2 = '// it’s "quoted\noption (a) = "x\\" // y"; /* ’ *//* ’ */\n';
    expect(withoutWideComments(t2)).toBe('// it s "quoted\noption (a) = "x\\" // y"; /*   *//*   */\n');
  });

  it('ends an unterminated block comment or string at the end of the text or line', () => {
    expect(withoutWideComments('/* ’ never closed')).toBe('/*   never closed');
    expect(withoutWideComments('option (a) = "open\n// ’\n')).toBe('option (a) = "open\n//  \n');
  });
});
