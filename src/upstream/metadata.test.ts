import { describe, it, expect } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import { CallMetadata } from './call-metadata.js';
import { toGrpcJsMetadata } from './grpcjs-metadata.js';
import { Code, isRpcStatus, type RpcStatus } from '../status/status.js';
import { GRPC_METADATA_PREFIX, GRPC_TRAILER_PREFIX } from './headers.js';
import { headersFromMetadata, metadataFromHeaders, requestIdFrom, type HttpHeaders } from './metadata.js';
import { seededRandom } from '../../test/support/prng.js';

const RID = 'req-1';

/** Runs metadataFromHeaders and expects success; returns the metadata as {key: values}. */
function forwarded(headers: HttpHeaders): Record<string, (string | Buffer)[]> {
  const md = metadataFromHeaders(headers, RID);
  if (isRpcStatus(md)) throw new Error(`unexpected status: ${md.message}`);
  return md.toJSON();
}

/** Runs metadataFromHeaders and expects an RpcStatus. */
function rejected(headers: HttpHeaders): RpcStatus {
  const md = metadataFromHeaders(headers, RID);
  if (!isRpcStatus(md)) throw new Error(`expected a status, got ${JSON.stringify(md.toJSON())}`);
  return md;
}

describe('metadataFromHeaders: what is forwarded', () => {
  it.each<[string, HttpHeaders, Record<string, (string | Buffer)[]>]>([
    ['only the request id when nothing else', {}, { 'x-request-id': [RID] }],
    ['authorization', { authorization: 'Bearer abc' }, { authorization: ['Bearer abc'], 'x-request-id': [RID] }],
    ['the given request id, not the header', { 'x-request-id': 'client-id' }, { 'x-request-id': [RID] }],
    [
      'W3C trace headers',
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'a=b', baggage: 'k=v' },
      {
        'x-request-id': [RID],
        traceparent: ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
        tracestate: ['a=b'],
        baggage: ['k=v'],
      },
    ],
    ['single b3', { b3: '80f198ee56343ba8-e457b5a2e4d86bd1-1' }, { 'x-request-id': [RID], b3: ['80f198ee56343ba8-e457b5a2e4d86bd1-1'] }],
    [
      'multi b3',
      { 'x-b3-traceid': 't', 'x-b3-spanid': 's', 'x-b3-parentspanid': 'p', 'x-b3-sampled': '1', 'x-b3-flags': '0' },
      {
        'x-request-id': [RID],
        'x-b3-traceid': ['t'],
        'x-b3-spanid': ['s'],
        'x-b3-parentspanid': ['p'],
        'x-b3-sampled': ['1'],
        'x-b3-flags': ['0'],
      },
    ],
    ['grpc-metadata-<name>, prefix stripped', { 'grpc-metadata-tenant': 'acme' }, { 'x-request-id': [RID], tenant: ['acme'] }],
    ['grpc-metadata name lower-cased', { 'Grpc-Metadata-Tenant-ID': 'acme' }, { 'x-request-id': [RID], 'tenant-id': ['acme'] }],
    ['legal key characters . _ - digits', { 'grpc-metadata-a.b_c-9': 'v' }, { 'x-request-id': [RID], 'a.b_c-9': ['v'] }],
    ['array values add each', { 'grpc-metadata-tag': ['a', 'b'] }, { 'x-request-id': [RID], tag: ['a', 'b'] }],
    [
      'empty and spaced printable values',
      { 'grpc-metadata-e': '', 'grpc-metadata-s': 'a b ~' },
      { 'x-request-id': [RID], e: [''], s: ['a b ~'] },
    ],
    ['a comma in a text value stays one value', { 'grpc-metadata-list': 'a, b' }, { 'x-request-id': [RID], list: ['a, b'] }],
    [
      'other headers are not forwarded',
      { host: 'x', cookie: 'c=1', 'user-agent': 'curl', accept: '*/*', 'content-type': 'application/json', 'x-custom': '1' },
      { 'x-request-id': [RID] },
    ],
  ])('%s', (_name, headers, expected) => {
    expect(forwarded(headers)).toEqual(expected);
  });
});

describe('metadataFromHeaders: reserved and hop-by-hop names are dropped', () => {
  it.each([
    'grpc-metadata-grpc-timeout',
    'grpc-metadata-grpc-status',
    'grpc-metadata-content-type',
    'grpc-metadata-te',
    'grpc-metadata-user-agent',
    'grpc-metadata-connection',
    'grpc-metadata-keep-alive',
    'grpc-metadata-proxy-connection',
    'grpc-metadata-proxy-authorization',
    'grpc-metadata-transfer-encoding',
    'grpc-metadata-upgrade',
    'grpc-metadata-trailer',
    'grpc-metadata-host',
    'grpc-metadata-content-length',
    'grpc-metadata-x-request-id',
  ])('%s', (header) => {
    expect(forwarded({ [header]: 'v' })).toEqual({ 'x-request-id': [RID] });
  });
});

describe('metadataFromHeaders: -bin keys', () => {
  const hello = Buffer.from('hello?>');
  it.each<[string, string | string[], Buffer[]]>([
    ['standard, padded', hello.toString('base64'), [hello]],
    ['standard, unpadded', hello.toString('base64').replace(/=+$/, ''), [hello]],
    ['URL-safe', hello.toString('base64url'), [hello]],
    ['bytes needing + and /', Buffer.from([0xfb, 0xff]).toString('base64'), [Buffer.from([0xfb, 0xff])]],
    ['empty', '', [Buffer.alloc(0)]],
    ['comma-separated values', 'AQ==, Ag', [Buffer.from([1]), Buffer.from([2])]],
    ['array values', ['AQ', 'Ag'], [Buffer.from([1]), Buffer.from([2])]],
  ])('%s', (_name, value, expected) => {
    expect(forwarded({ 'grpc-metadata-blob-bin': value })['blob-bin']).toEqual(expected);
  });

  it('holds a Buffer, which grpc-js requires for a -bin key', () => {
    const md = metadataFromHeaders({ 'grpc-metadata-blob-bin': 'AQ' }, RID) as CallMetadata;
    expect(Buffer.isBuffer(md.get('blob-bin'))).toBe(true);
    expect(toGrpcJsMetadata(md).get('blob-bin')).toEqual([Buffer.from([1])]);
  });
});

describe('metadataFromHeaders: illegal input → INVALID_ARGUMENT naming the header, never a throw', () => {
  it.each<[string, HttpHeaders, string]>([
    ['empty name after the prefix', { 'grpc-metadata-': 'v' }, 'grpc-metadata-'],
    ['illegal key character !', { 'grpc-metadata-a!b': 'v' }, 'grpc-metadata-a!b'],
    ['illegal key character ~', { 'grpc-metadata-a~b': 'v' }, 'grpc-metadata-a~b'],
    ['CR in a value', { 'grpc-metadata-x': 'a\rb' }, 'grpc-metadata-x'],
    ['LF in a value', { 'grpc-metadata-x': 'a\nb' }, 'grpc-metadata-x'],
    ['TAB in a value', { 'grpc-metadata-x': 'a\tb' }, 'grpc-metadata-x'],
    ['NUL in a value', { 'grpc-metadata-x': 'a\0b' }, 'grpc-metadata-x'],
    ['DEL in a value', { 'grpc-metadata-x': 'a\x7fb' }, 'grpc-metadata-x'],
    ['non-ASCII (latin1) in a value', { 'grpc-metadata-x': 'caf\xe9' }, 'grpc-metadata-x'],
    ['non-ASCII (emoji) in a value', { 'grpc-metadata-x': 'ok 👍' }, 'grpc-metadata-x'],
    ['one bad value among several', { 'grpc-metadata-x': ['ok', 'b\nad'] }, 'grpc-metadata-x'],
    ['non-ASCII in authorization', { authorization: 'Bearer \u00ff' }, 'authorization'],
    ['LF in a trace header', { traceparent: '00-a\n' }, 'traceparent'],
    ['-bin value not base64', { 'grpc-metadata-x-bin': 'not base64!' }, 'grpc-metadata-x-bin'],
    ['-bin value of impossible length', { 'grpc-metadata-x-bin': 'AAAAA' }, 'grpc-metadata-x-bin'],
    ['-bin value with misplaced padding', { 'grpc-metadata-x-bin': 'AA=' }, 'grpc-metadata-x-bin'],
    ['-bin value with too much padding', { 'grpc-metadata-x-bin': 'A===' }, 'grpc-metadata-x-bin'],
  ])('%s', (_name, headers, header) => {
    let s: RpcStatus | undefined;
    expect(() => (s = rejected(headers))).not.toThrow();
    expect(s?.code).toBe(Code.INVALID_ARGUMENT);
    expect(s?.message).toContain(`"${header}"`);
  });

  it('does not echo a rejected value (it may be a credential)', () => {
    const s = rejected({ authorization: 'Bearer s3cret\u00ff' });
    expect(s.message).not.toContain('s3cret');
  });
});

describe('headersFromMetadata', () => {
  function md(entries: [string, string | Buffer][]): CallMetadata {
    return CallMetadata.of(entries);
  }

  it.each<[string, CallMetadata, string, Record<string, string | string[]>]>([
    ['headers with the metadata prefix', md([['tenant', 'acme']]), GRPC_METADATA_PREFIX, { 'grpc-metadata-tenant': 'acme' }],
    ['trailers with the trailer prefix', md([['cost', '3']]), GRPC_TRAILER_PREFIX, { 'grpc-trailer-cost': '3' }],
    ['several values → an array', md([['tag', 'a'], ['tag', 'b']]), GRPC_METADATA_PREFIX, { 'grpc-metadata-tag': ['a', 'b'] }],
    [
      '-bin values base64-encoded',
      md([['blob-bin', Buffer.from([0xfb, 0xff, 0x00])]]),
      GRPC_TRAILER_PREFIX,
      { 'grpc-trailer-blob-bin': '+/8A' },
    ],
    [
      'reserved keys skipped',
      md([
        ['grpc-status', '0'],
        ['grpc-message', 'x'],
        ['grpc-status-details-bin', Buffer.from([1])],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['user-agent', 'grpc-go'],
        ['kept', 'y'],
      ]),
      GRPC_TRAILER_PREFIX,
      { 'grpc-trailer-kept': 'y' },
    ],
    [
      'hop-by-hop keys skipped',
      md([['connection', 'close'], ['transfer-encoding', 'chunked'], ['host', 'h'], ['kept', 'y']]),
      GRPC_METADATA_PREFIX,
      { 'grpc-metadata-kept': 'y' },
    ],
    ['empty metadata writes nothing', md([]), GRPC_METADATA_PREFIX, {}],
  ])('%s', (_name, metadata, prefix, expected) => {
    const out: Record<string, string | string[]> = {};
    headersFromMetadata(metadata, prefix, out);
    expect(out).toEqual(expected);
  });

  it('skips values and keys Node would refuse in an HTTP header, without throwing', () => {
    // The metadata constructor trusts its caller; build such metadata by that back door.
    const m = new CallMetadata(['split', 'a\r\nset-cookie: x', 'split', 'fine', 'bad key', 'v']);
    const out: Record<string, string | string[]> = {};
    expect(() => headersFromMetadata(m, GRPC_METADATA_PREFIX, out)).not.toThrow();
    expect(out).toEqual({ 'grpc-metadata-split': 'fine' });
  });

  it('adds to what the caller already wrote, leaving other entries alone', () => {
    const out: Record<string, string | string[]> = { 'x-request-id': 'r', 'grpc-metadata-tag': 'a' };
    headersFromMetadata(md([['tag', 'b']]), GRPC_METADATA_PREFIX, out);
    headersFromMetadata(md([['tag', 'c']]), GRPC_METADATA_PREFIX, out);
    expect(out).toEqual({ 'x-request-id': 'r', 'grpc-metadata-tag': ['a', 'b', 'c'] });
  });
});

describe('requestIdFrom', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it.each<[string, HttpHeaders, string]>([
    ['a plain id', { 'x-request-id': 'abc-123' }, 'abc-123'],
    ['1 character', { 'x-request-id': 'x' }, 'x'],
    ['128 characters', { 'x-request-id': 'a'.repeat(128) }, 'a'.repeat(128)],
    ['visible punctuation', { 'x-request-id': '!~{}"' }, '!~{}"'],
    ['the first of several', { 'x-request-id': ['first', 'second'] }, 'first'],
  ])('echoes %s', (_name, headers, expected) => {
    expect(requestIdFrom(headers)).toBe(expected);
  });

  it.each<[string, HttpHeaders]>([
    ['absent', {}],
    ['empty', { 'x-request-id': '' }],
    ['129 characters', { 'x-request-id': 'a'.repeat(129) }],
    ['a space', { 'x-request-id': 'a b' }],
    ['a control character', { 'x-request-id': 'a\tb' }],
    ['non-ASCII', { 'x-request-id': 'idé' }],
    ['an empty array', { 'x-request-id': [] }],
  ])('generates a UUID when %s', (_name, headers) => {
    expect(requestIdFrom(headers)).toMatch(UUID);
  });

  it('generates a fresh id each time', () => {
    expect(requestIdFrom({})).not.toBe(requestIdFrom({}));
  });
});

describe('metadataFromHeaders: fuzzed input never makes grpc-js throw', () => {
  const ALPHABET = 'aZ09-_.!~:,= \t\r\n\x00\x7f\xe9é👍+/';

  it.each([1, 2, 3, 4, 5])('seed %i: 500 random headers each return metadata grpc-js accepts, or INVALID_ARGUMENT', (seed) => {
    const next = seededRandom(seed);
    const pick = (n: number): string =>
      Array.from({ length: Math.floor(next() * n) }, () => [...ALPHABET][Math.floor(next() * [...ALPHABET].length)]).join('');
    for (let i = 0; i < 500; i++) {
      const suffix = next() < 0.3 ? '-bin' : '';
      const headers = { [`grpc-metadata-${pick(6)}${suffix}`]: pick(12), authorization: pick(4), traceparent: pick(4) };
      const md = metadataFromHeaders(headers, RID);
      if (isRpcStatus(md)) expect(md.code).toBe(Code.INVALID_ARGUMENT);
      else {
        expect(md).toBeInstanceOf(CallMetadata);
        // Every entry as grpc-js would take it: add() throws on what it refuses.
        const g = new Metadata();
        for (let j = 0; j < md.size; j++) expect(() => g.add(md.keyAt(j), md.valueAt(j))).not.toThrow();
      }
    }
  });
});
