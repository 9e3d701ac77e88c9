import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/prng.js';
import { CallMetadata, isLegalEntry, isLegalKey, isLegalTextValue } from './call-metadata.js';
import { fromGrpcJsMetadata, replaceGrpcJsMetadata, toGrpcJsMetadata } from './grpcjs-metadata.js';

/** Whether grpc-js's own Metadata takes the entry (its add() throws on what it refuses). */
function grpcJsTakes(key: string, value: string | Buffer): boolean {
  try {
    new Metadata().add(key, value);
    return true;
  } catch {
    return false;
  }
}

describe('legality: the same keys and values grpc-js accepts', () => {
  it.each(['a', 'x-request-id', 'a.b_c-9', ':path', 'x-bin', '0', 'grpc-status'])('key %j is legal', (k) => {
    expect(isLegalKey(k)).toBe(true);
    expect(grpcJsTakes(k, k.endsWith('-bin') ? Buffer.alloc(1) : 'v')).toBe(true);
  });

  it.each(['', 'A', 'a b', 'a!', 'a~', 'é', 'a/b', 'a\n'])('key %j is illegal', (k) => {
    expect(isLegalKey(k)).toBe(false);
  });

  it.each(['', ' ', 'a b ~', '!"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~'])('text %j is legal', (v) => {
    expect(isLegalTextValue(v)).toBe(true);
  });

  it.each(['\t', '\r', '\n', '\0', '\x7f', 'caf\xe9', '€', '👍'])('text %j is illegal', (v) => {
    expect(isLegalTextValue(v)).toBe(false);
  });

  it('a -bin key takes a Buffer only, any other key a string only', () => {
    expect(isLegalEntry('x-bin', Buffer.from([1]))).toBe(true);
    expect(isLegalEntry('x-bin', 'AQ')).toBe(false);
    expect(isLegalEntry('x', Buffer.from([1]))).toBe(false);
    expect(isLegalEntry('x', 'v')).toBe(true);
  });

  it.each([1, 2, 3])('seed %i: 2000 random lower-case entries judged exactly as grpc-js judges them', (seed) => {
    const next = seededRandom(seed);
    const ALPHABET = [...'az09-_.:!~ /A\t\x7f\xe9€'];
    const pick = (n: number): string => Array.from({ length: Math.floor(next() * n) }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join('');
    for (let i = 0; i < 2000; i++) {
      const key = (pick(6) + (next() < 0.3 ? '-bin' : '')).toLowerCase();
      const value: string | Buffer = next() < 0.3 ? Buffer.from(pick(4)) : pick(8);
      expect(isLegalEntry(key, value)).toBe(grpcJsTakes(key, value));
    }
  });
});

describe('CallMetadata', () => {
  const md = CallMetadata.of([['a', '1'], ['B', '2'], ['a', '3'], ['x-bin', Buffer.from([9])]]);

  it('keeps entries in order, keys lower-cased; first value, all values, distinct keys', () => {
    expect(md.size).toBe(4);
    expect([0, 1, 2, 3].map((i) => [md.keyAt(i), md.valueAt(i)])).toEqual([['a', '1'], ['b', '2'], ['a', '3'], ['x-bin', Buffer.from([9])]]);
    expect(md.get('a')).toBe('1');
    expect(md.getAll('a')).toEqual(['1', '3']);
    expect(md.get('none')).toBeUndefined();
    expect(md.getAll('none')).toEqual([]);
    expect(md.keys()).toEqual(['a', 'b', 'x-bin']);
    expect(md.toJSON()).toEqual({ a: ['1', '3'], b: ['2'], 'x-bin': [Buffer.from([9])] });
  });

  it('of() refuses what grpc-js refuses', () => {
    expect(() => CallMetadata.of([['a b', 'v']])).toThrow(/a b/);
    expect(() => CallMetadata.of([['k', 'a\nb']])).toThrow(/"k"/);
    expect(() => CallMetadata.of([['k-bin', 'AQ']])).toThrow(/k-bin/);
  });

  it('with() sets one value (earlier ones go, the new one comes last), leaving the original alone', () => {
    const w = md.with('a', '9');
    expect(w.toJSON()).toEqual({ b: ['2'], 'x-bin': [Buffer.from([9])], a: ['9'] });
    expect(md.getAll('a')).toEqual(['1', '3']);
    expect(CallMetadata.EMPTY.with('k', 'v').toJSON()).toEqual({ k: ['v'] });
    expect(CallMetadata.EMPTY.size).toBe(0);
  });

  it('replacing() drops the named keys, adds the fields (lower-cased), skips added entries grpc-js would refuse', () => {
    const r = md.replacing(new Set(['a', 'zz']), ['Traceparent', 't', 'bad key', 'v', 'x', 'a\nb', 'b', 'again']);
    expect(r.toJSON()).toEqual({ b: ['2', 'again'], 'x-bin': [Buffer.from([9])], traceparent: ['t'] });
    expect(md.size).toBe(4);
  });

  it('toJSON() of a key named __proto__ is an own property', () => {
    expect(Object.keys(CallMetadata.of([['__proto__', 'x']]).toJSON())).toEqual(['__proto__']);
  });
});

describe('grpc-js Metadata ↔ CallMetadata (the grpc-js wire\'s boundary)', () => {
  it('round-trips entries, repeated keys and -bin values', () => {
    const md = CallMetadata.of([['a', '1'], ['a', '2'], ['x-bin', Buffer.from([0, 255])], ['b', '']]);
    const g = toGrpcJsMetadata(md);
    expect(g.toJSON()).toEqual({ a: ['1', '2'], 'x-bin': [Buffer.from([0, 255])], b: [''] });
    expect(fromGrpcJsMetadata(g).toJSON()).toEqual(md.toJSON());
  });

  it('replaceGrpcJsMetadata puts exactly the given entries in, keeping the object and its options', () => {
    const g = new Metadata({ waitForReady: true });
    g.set('old', 'x');
    g.set('traceparent', 'p0');
    replaceGrpcJsMetadata(g, CallMetadata.of([['traceparent', 'p1'], ['k', 'v']]));
    expect(g.toJSON()).toEqual({ traceparent: ['p1'], k: ['v'] });
    expect(g.getOptions().waitForReady).toBe(true);
  });
});
