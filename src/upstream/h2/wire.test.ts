import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { decodeGrpcMessage, headerObject, parseGrpcStatus, statusFromHttp, statusFromReset, timeoutHeader } from './wire.js';

describe('wire', () => {
  it.each([
    [0, '0m'], [1, '1m'], [15_000, '15000m'], [99_999_999, '99999999m'], [100_000_000, '100000S'],
    [100_000_001, '100001S'], [1e11, '1666667M'], [1e14, '27777778H'], [1e15, '99999999H'], [-5, '0m'],
  ])('grpc-timeout for %d ms is %s', (ms, header) => {
    expect(timeoutHeader(ms)).toBe(header);
  });

  it.each([[400, 13], [401, 16], [403, 7], [404, 12], [429, 14], [502, 14], [503, 14], [504, 14], [500, 2], [302, 2]])(
    'HTTP %d → code %d', (status, code) => {
      expect(statusFromHttp(status)).toEqual({ code, details: `Received HTTP status code ${status}` });
    });

  it.each([
    [http2.constants.NGHTTP2_REFUSED_STREAM, 14, true],
    [http2.constants.NGHTTP2_CANCEL, 1, false],
    [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 8, false],
    [http2.constants.NGHTTP2_INADEQUATE_SECURITY, 7, false],
    [http2.constants.NGHTTP2_INTERNAL_ERROR, 13, false],
    [http2.constants.NGHTTP2_PROTOCOL_ERROR, 13, false],
  ])('RST_STREAM %d → code %d (unprocessed %s)', (rst, code, unprocessed) => {
    expect(statusFromReset(rst)).toMatchObject({ code, unprocessed });
  });

  it.each([['0', 0], ['14', 14], ['16', 16], ['17', 2], ['x', 2], ['', 2], ['-1', 2], ['100', 2]])('grpc-status %j → %d', (t, c) => {
    expect(parseGrpcStatus(t)).toBe(c);
  });

  it.each([['plain', 'plain'], ['a%20b%25c', 'a b%c'], ['caf%C3%A9', 'café'], ['bad%zz', 'bad%zz']])('grpc-message %j', (t, d) => {
    expect(decodeGrpcMessage(t)).toBe(d);
  });

  it('backoff: initial, ×1.6 with ±20% jitter, capped; reset after success; min connect timeout 20 s', () => {
    const b = new Backoff(1000, 3000, () => 0.5); // no jitter
    expect(b.attemptStarted(0)).toBe(20_000);
    expect(b.delayAfterFailure(10)).toBe(990);
    b.attemptStarted(1000);
    expect(b.delayAfterFailure(1000)).toBe(1600);
    b.attemptStarted(2600);
    expect(b.delayAfterFailure(2600)).toBeCloseTo(2560);
    b.attemptStarted(0);
    expect(b.delayAfterFailure(0)).toBe(3000);
    b.reset();
    b.attemptStarted(0);
    expect(b.delayAfterFailure(0)).toBe(1000);
    const j = new Backoff(1000, 3000, () => 1);
    j.attemptStarted(0);
    expect(j.delayAfterFailure(0)).toBe(1200);
  });
});

describe('headerObject (the shape node:http2 gave received headers)', () => {
  it('joins repeats with ", " (cookie "; "), keeps set-cookie as an array and the first of a single-value header', () => {
    const h = headerObject([':status', '200', 'x-a', '1', 'content-type', 'application/grpc', 'x-a', '2', 'cookie', 'a=1', 'cookie', 'b=2', 'set-cookie', 's=1', 'set-cookie', 's=2', 'content-type', 'text/plain']);
    expect({ ...h }).toEqual({ ':status': '200', 'x-a': '1, 2', 'content-type': 'application/grpc', cookie: 'a=1; b=2', 'set-cookie': ['s=1', 's=2'] });
  });

  it('is a null-prototype object: a header named __proto__ is just a key', () => {
    const h = headerObject(['__proto__', 'x', 'constructor', 'y']);
    expect(Object.getPrototypeOf(h)).toBe(null);
    expect(h['__proto__']).toBe('x');
    expect(h['constructor']).toBe('y');
  });
});
