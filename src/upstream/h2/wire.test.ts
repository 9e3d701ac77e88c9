import http2 from 'node:http2';
import { logVerbosity, Metadata, setLogVerbosity } from '@grpc/grpc-js';
import { seededRandom } from '../../../test/support/prng.js';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { decodeGrpcMessage, notGrpcResponse, parseGrpcStatus, readHeaderBlock, statusFromHttp, statusFromReset, statusOfTrailers, timeoutHeader } from './wire.js';

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

  it.each<[number, string | undefined, { code: number; details: string } | undefined]>([
    [200, 'application/grpc', undefined],
    [200, 'application/grpc+proto', undefined],
    [200, 'text/html', { code: 2, details: 'Received a response with content-type text/html, not application/grpc' }],
    [200, undefined, { code: 2, details: 'Received a response with content-type undefined, not application/grpc' }],
    [503, 'application/grpc', { code: 14, details: 'Received HTTP status code 503' }],
  ])('response headers :status %d, content-type %s: ends the call with %j', (status, type, end) => {
    expect(notGrpcResponse(status, type)).toEqual(end);
  });

  it.each<[string[], number, { code: number; details: string }]>([
    [['grpc-status', '5', 'grpc-message', 'no%20such%20thing'], 200, { code: 5, details: 'no such thing' }],
    [['grpc-status', '0'], 200, { code: 0, details: '' }],
    [['grpc-status', '99'], 200, { code: 2, details: '' }],
    [[':status', '404'], 404, { code: 12, details: 'Received HTTP status code 404' }],
    [['x-other', 'v'], 200, { code: 2, details: 'No status information received' }],
    [['x-other', 'v'], 0, { code: 2, details: 'No status information received' }],
  ])('trailers %j after :status %d → %j', (fields, httpStatus, end) => {
    expect(statusOfTrailers(readHeaderBlock(fields), httpStatus)).toEqual(end);
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

describe('readHeaderBlock (received fields → the metadata grpc-js made of node:http2\'s header object)', () => {
  it('joins repeats with ", " (cookie "; "), keeps each set-cookie and the first of a single-value header', () => {
    const b = readHeaderBlock([':status', '200', 'x-a', '1', 'content-type', 'application/grpc', 'x-a', '2', 'cookie', 'a=1', 'cookie', 'b=2', 'set-cookie', 's=1', 'set-cookie', 's=2', 'content-type', 'text/plain']);
    expect(b.status).toBe('200');
    expect(b.contentType).toBe('application/grpc');
    expect(b.metadata.toJSON()).toEqual({ 'x-a': ['1, 2'], 'content-type': ['application/grpc'], cookie: ['a=1; b=2'], 'set-cookie': ['s=1', 's=2'] });
  });

  it('takes gRPC\'s own fields out of the metadata (repeats joined, so a repeated grpc-status does not parse)', () => {
    const b = readHeaderBlock([':status', '200', 'grpc-status', '0', 'grpc-message', 'a%20b', 'grpc-encoding', 'gzip', 'grpc-accept-encoding', 'gzip', 'x-k', 'v', 'grpc-status', '3']);
    expect(b).toMatchObject({ grpcStatus: '0, 3', grpcMessage: 'a%20b', grpcEncoding: 'gzip' });
    expect(parseGrpcStatus(b.grpcStatus!)).toBe(2);
    expect(b.metadata.toJSON()).toEqual({ 'x-k': ['v'] });
  });

  it('decodes -bin values: a custom key split at commas, a grpc-*-bin key whole', () => {
    const b = readHeaderBlock(['x-bin', 'AQ==, Ag', 'x-bin', 'Aw', 'grpc-status-details-bin', 'CAM', 'y-bin', '']);
    expect(b.metadata.getAll('x-bin')).toEqual([Buffer.from([1]), Buffer.from([2]), Buffer.from([3])]);
    expect(b.metadata.get('grpc-status-details-bin')).toEqual(Buffer.from([8, 3]));
    expect(b.metadata.get('y-bin')).toEqual(Buffer.alloc(0));
  });

  it('drops what grpc-js refuses (illegal key, text outside 0x20–0x7E; set-cookie from the first refused value on) and lower-cases keys as it does', () => {
    const b = readHeaderBlock(['bad key', 'v', 'x-ok', 'fine', 'x-tab', 'a\tb', 'X-Upper', 'u', 'x-8bit', 'caf\xe9', 'set-cookie', 'ok', 'set-cookie', 'b\x7fd', 'set-cookie', 'after']);
    expect(b.metadata.toJSON()).toEqual({ 'x-ok': ['fine'], 'x-upper': ['u'], 'set-cookie': ['ok'] });
  });

  it('a header named __proto__ or constructor is just a key', () => {
    const b = readHeaderBlock(['__proto__', 'x', 'constructor', 'y']);
    expect(b.metadata.get('__proto__')).toBe('x');
    expect(b.metadata.get('constructor')).toBe('y');
    expect(b.metadata.keys()).toEqual(['__proto__', 'constructor']);
  });

  it('many fields: repeats are still joined once the block is past the scan limit', () => {
    const fields: string[] = [];
    for (let i = 0; i < 40; i++) fields.push(`k${i}`, 'a');
    for (let i = 0; i < 40; i++) fields.push(`k${i}`, 'b', 'set-cookie', String(i));
    const md = readHeaderBlock(fields).metadata;
    expect(md.size).toBe(80);
    for (let i = 0; i < 40; i++) expect(md.getAll(`k${i}`)).toEqual(['a, b']);
    expect(md.getAll('set-cookie')).toHaveLength(40);
  });

  it('is what grpc-js Metadata.fromHttp2Headers made of node:http2\'s header object, on random blocks', () => {
    const next = seededRandom(7);
    const names = ['x-a', 'x-b', 'cookie', 'set-cookie', 'date', 'x-c-bin', 'grpc-foo-bin', 'user-agent', 'x-d'];
    const values = ['v', 'w x', 'AQ', 'Ag==', 'AQ,Ag', '', 'a\tb', '~'];
    for (let n = 0; n < 300; n++) {
      const fields: string[] = [];
      const count = Math.floor(next() * 8);
      for (let i = 0; i < count; i++) fields.push(names[Math.floor(next() * names.length)]!, values[Math.floor(next() * values.length)]!);
      expect(readHeaderBlock(fields).metadata.toJSON()).toEqual(viaGrpcJs(fields));
    }
  });
});

/** The old path: node:http2's toHeaderObject shape (as wire.ts built it before), then grpc-js fromHttp2Headers. */
function viaGrpcJs(fields: readonly string[]): Record<string, (string | Buffer)[]> {
  const SINGLE = new Set(['date', 'user-agent', 'content-type']);
  const h: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    const had = h[name];
    if (had === undefined) h[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(had)) had.push(value);
    else if (!SINGLE.has(name)) h[name] = `${had}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  // fromHttp2Headers logs each entry it refuses at ERROR; the test expects refusals.
  setLogVerbosity(logVerbosity.NONE);
  try {
    return { ...Metadata.fromHttp2Headers(h).toJSON() };
  } finally {
    setLogVerbosity(logVerbosity.ERROR);
  }
}
